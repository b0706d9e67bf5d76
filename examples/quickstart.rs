//! Quickstart: the tutorials' tables computed on the GPU, beside the CPU reference.
//!
//! Prints the adapter in use, then relu and leaky_relu on the tutorial's inputs
//! (1, -10, 0, 15, -20), numpy-style relu on [-2, -1, 0, 1, 2], the tutorials'
//! ops and their gradients at a few points including the kinks (PyTorch's
//! convention), and
//! PReLU with one weight per channel together with the weight's gradient.
//!
//! Run: `cargo run --release --example quickstart`

use wgpu_activations::cpu::{self, Denormals};
use wgpu_activations::{Activation, GpuContext};

fn main() {
    if let Err(error) = run() {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}

fn run() -> wgpu_activations::Result<()> {
    let ctx = GpuContext::new()?;
    println!("adapter: {}\n", ctx.adapter_description());

    let tutorial = [1.0, -10.0, 0.0, 15.0, -20.0];
    for op in [
        Activation::Relu,
        Activation::LeakyRelu {
            negative_slope: 0.01,
        },
    ] {
        let x = ctx.upload(&tutorial, &[tutorial.len()])?;
        let gpu = ctx.download(&ctx.forward(&op, &x, None)?)?;
        let reference = cpu::forward(&op, &tutorial, &[tutorial.len()], None, Denormals::Preserve)?;
        println!("{op}");
        for ((input, g), r) in tutorial.iter().zip(&gpu).zip(&reference) {
            println!(
                "  Applying {} on ({input:.1}) gives {g:.1}   (CPU reference {r:.1})",
                op.name()
            );
        }
        println!();
    }

    let numpy = [-2.0, -1.0, 0.0, 1.0, 2.0];
    let x = ctx.upload(&numpy, &[5])?;
    let gpu = ctx.download(&ctx.forward(&Activation::Relu, &x, None)?)?;
    println!("numpy-style relu({numpy:?}) = {gpu:?}\n");

    let points = [-2.0, -1.0, -0.0, 0.0, 0.5, 2.0];
    let ones = [1.0; 6];
    println!(
        "{:<32} {:>6} {:>10} {:>10} {:>10} {:>10}",
        "op", "x", "f(x) GPU", "f(x) CPU", "f'(x) GPU", "f'(x) CPU"
    );
    for op in [
        Activation::Relu,
        Activation::LeakyRelu {
            negative_slope: 0.01,
        },
        Activation::Elu { alpha: 1.0 },
        Activation::Selu,
    ] {
        let x = ctx.upload(&points, &[points.len()])?;
        let g = ctx.upload(&ones, &[ones.len()])?;
        let y = ctx.download(&ctx.forward(&op, &x, None)?)?;
        let dx = ctx.download(&ctx.backward(&op, &x, &g, None)?.grad_input)?;
        let y_ref = cpu::forward(&op, &points, &[6], None, Denormals::Preserve)?;
        let dx_ref = cpu::backward(&op, &points, &ones, &[6], None, Denormals::Preserve)?;
        for i in 0..points.len() {
            println!(
                "{:<32} {:>6.1} {:>10.6} {:>10.6} {:>10.6} {:>10.6}",
                op.to_string(),
                points[i],
                y[i],
                y_ref[i],
                dx[i],
                dx_ref[i]
            );
        }
    }

    // PReLU on a [batch 2, channels 3] input with one weight per channel.
    let shape = [2, 3];
    let values = [-1.0, -2.0, 3.0, -4.0, 0.0, -6.0];
    let weights = [0.25, 0.1, 0.5];
    let x = ctx.upload(&values, &shape)?;
    let w = ctx.upload(&weights, &[3])?;
    let g = ctx.upload(&[1.0; 6], &shape)?;
    let y = ctx.download(&ctx.forward(&Activation::Prelu, &x, Some(&w))?)?;
    let grads = ctx.backward(&Activation::Prelu, &x, &g, Some(&w))?;
    let gw = grads.grad_weight.expect("prelu returns a weight gradient");
    println!("\nprelu(x = {values:?} shaped {shape:?}, weight = {weights:?})");
    println!("  output      GPU {:?}", y);
    println!("  grad_input  GPU {:?}", ctx.download(&grads.grad_input)?);
    println!("  grad_weight GPU {:?}", ctx.download(&gw)?);
    println!(
        "  grad_weight CPU {:?}",
        cpu::prelu_weight_grad(&values, &[1.0; 6], &shape, &weights, Denormals::Preserve)?
    );
    Ok(())
}
