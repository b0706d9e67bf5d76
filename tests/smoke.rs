mod common;
use wgpu_activations::Activation;

#[test]
fn tutorial_relu_table() {
    let ctx = gpu_or_skip!();
    let x = ctx.upload(&[1.0, -10.0, 0.0, 15.0, -20.0], &[5]).unwrap();
    let y = ctx.forward(&Activation::Relu, &x, None).unwrap();
    assert_eq!(ctx.download(&y).unwrap(), [1.0, 0.0, 0.0, 15.0, 0.0]);
}
