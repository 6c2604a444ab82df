/// The facade's performance: the BLAS backend and its threads, FLOPs, memory, and timing hooks for bench.
namespace Functional.Api

open System
open Functional

[<AbstractClass; Sealed>]
type Performance =
    /// FLOPs of one training step per example: forward, ∂L/∂θ and ∂L/∂x (matrix work only).
    static member FlopsPerExample(arch: Arch.Arch) : float = Arch.Arch.trainingFlops arch

    /// An action running only the matrix products of one step at this batch size: time it for the roofline.
    static member MatrixProducts(arch: Arch.Arch, batch: int, precision: Precision) : Action =
        match precision with
        | Float64 -> Benchmark.action<float> arch batch
        | Float32 -> Benchmark.action<float32> arch batch

    /// Per-layer forward and backward times of training steps of the configuration (Profile.fs).
    static member ProfileLayers(config: Config, seconds: float) : Profile.LayerTime[] =
        match config.Precision with
        | Float64 -> Profile.layers<float> config.Hyper config.Init config.Arch config.Batch seconds
        | Float32 -> Profile.layers<float32> config.Hyper config.Init config.Arch config.Batch seconds

    /// Roughly the bytes training the config's network on `examples` examples takes, per layer (Arch.trainingBytes).
    static member TrainingBytes(config: Config, examples: int) : float[] =
        let batch =
            if config.Batch <= 0 || config.Batch >= examples then
                max 1 examples
            else
                config.Batch

        Arch.Arch.trainingBytes config.Arch (if config.Precision = Float64 then 8 else 4) batch

    static member BlasDescription() = Tensor.Blas.Describe()
    /// OpenBLAS's kernel family in use ("Haswell"), "" for the managed provider.
    static member BlasCore() = Tensor.Blas.CoreName
    /// "OpenBLAS 0.3.21" or "managed".
    static member BlasBackend() = Tensor.Blas.Backend
    static member BlasNativeAvailable = Tensor.Blas.NativeAvailable
    static member SetThreads(n: int) = Tensor.Blas.SetThreads n
    static member UseManagedBlas() = Tensor.Blas.Use Tensor.Managed
