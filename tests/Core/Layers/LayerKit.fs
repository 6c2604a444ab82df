/// What every layer kind's tests share: random data, a central-difference gradient check of a kernel, the
/// steady-state allocation of a float32 kernel, and a run of one kernel under each BLAS backend.
module Functional.Tests.Layers.LayerKit

open System
open System.Numerics
open Expecto
open FsCheck
open Functional
open Functional.Activations
open Functional.Layers.Layer

/// Fixed-size configs: the number of cases, not FsCheck's size, bounds the work.
let config n =
    { FsCheckConfig.defaultConfig with
        maxTest = n
        startSize = 10
        endSize = 10
    }

/// n values uniform in [−1, 1).
let randoms (rng: Random) n =
    Array.init n (fun _ -> 2.0 * rng.NextDouble() - 1.0)

let outShape (layer: ILayer) (input: Shape) =
    match layer.OutShape input with
    | Ok s -> s
    | Error e -> failtestf "%s on %s: %s" layer.Text (Shape.text input) e

/// ‖a − b‖∞ ≤ tol·max(‖a‖∞, floor): whole arrays are compared, so an entry near zero is judged on the array's scale.
let expectClose (what: string) (tol: float) (a: float[]) (b: float[]) =
    Expect.equal a.Length b.Length $"%s{what}: length"
    let scale = a |> Array.fold (fun m v -> max m (abs v)) 1e-3
    let worst = Array.map2 (fun u v -> abs (u - v)) a b |> Array.fold max 0.0

    if not (worst <= tol * scale) then
        let i = Array.map2 (fun u v -> abs (u - v)) a b |> Array.findIndex ((=) worst)
        failtestf "%s: index %d is %g vs %g (relative difference %g, tolerance %g)" what i a[i] b[i] (worst / scale) tol

let private matrix rows cols (a: 'T[]) = Tensor.ofColumnMajor rows cols a

/// The kernel's y, ∂L/∂θ and ∂L/∂x for L = Σ r ∘ y (dz = r ∘ f'(·) by Activation.backInto), all float64.
/// Gradients and dx start as NaN, so an entry the kernel forgets to write shows.
let analytic (layer: ILayer) (kernel: Kernel<float>) (input: Shape) (ps: float[][]) (x: float[]) (r: float[]) mode =
    let batch = x.Length / Shape.size input
    let inSize, outSize = Shape.size input, Shape.size (outShape layer input)
    let y = Array.zeroCreate (outSize * batch)
    kernel.Forward(ps, matrix inSize batch x, matrix outSize batch y, mode)
    let dz = Array.zeroCreate (outSize * batch)
    Activation.backInto layer.Activation outSize y r dz
    let grads = ps |> Array.map (fun p -> Array.create p.Length nan)
    let dx = Array.create (inSize * batch) nan

    kernel.Backward(
        ps,
        matrix inSize batch x,
        matrix outSize batch y,
        matrix outSize batch dz,
        ValueSome grads,
        ValueSome(matrix inSize batch dx)
    )

    y, grads, dx

/// n distinct values spread evenly over [−1, 1), shuffled: no two closer than 2/n, so a finite difference cannot
/// change which entry of a pooling window is largest.
let distinct (rng: Random) n =
    let values = Array.init n (fun i -> 2.0 * float i / float n - 1.0)
    rng.Shuffle values
    values

/// Checks ∂L/∂θ and ∂L/∂x of L = Σ r ∘ y against central differences, for random θ, r and x = inputs rng n from seed; also that a
/// second Backward after the same Forward gives the same bits (kernels may reuse forward's scratch).
let gradCheckWith
    (inputs: Random -> int -> float[])
    (layer: ILayer)
    (input: Shape)
    (batch: int)
    (mode: Mode)
    (seed: int)
    =
    let rng = Random seed
    let inSize, outSize = Shape.size input, Shape.size (outShape layer input)

    let ps =
        layer.Params input
        |> Array.map (fun i -> randoms rng (Array.fold (*) 1 i.Shape))

    let x = inputs rng (inSize * batch)
    let r = randoms rng (outSize * batch)
    let kernel = layer.Bind<float>(input, batch)
    let y, grads, dx = analytic layer kernel input ps x r mode

    // A second backward from forward's state: the same numbers.
    let dz = Array.zeroCreate (outSize * batch)
    Activation.backInto layer.Activation outSize y r dz
    let grads2 = ps |> Array.map (fun p -> Array.zeroCreate p.Length)
    let dx2 = Array.zeroCreate (inSize * batch)

    kernel.Backward(
        ps,
        matrix inSize batch x,
        matrix outSize batch y,
        matrix outSize batch dz,
        ValueSome grads2,
        ValueSome(matrix inSize batch dx2)
    )

    Expect.equal grads2 grads $"%s{layer.Text}: a second backward gives the same parameter gradients"
    Expect.equal dx2 dx $"%s{layer.Text}: a second backward gives the same dx"

    let loss () =
        let y = Array.zeroCreate (outSize * batch)
        kernel.Forward(ps, matrix inSize batch x, matrix outSize batch y, mode)
        Array.fold2 (fun s a b -> s + a * b) 0.0 r y

    let numeric (a: float[]) =
        a
        |> Array.mapi (fun i v ->
            let h = 1e-6 * max 1.0 (abs v)
            a[i] <- v + h
            let up = loss ()
            a[i] <- v - h
            let down = loss ()
            a[i] <- v
            (up - down) / (2.0 * h))

    let where =
        sprintf "%s on %s, batch %d, seed %d" layer.Text (Shape.text input) batch seed

    let names = layer.Params input |> Array.map _.Name

    for p in 0 .. ps.Length - 1 do
        expectClose $"%s{where}: ∂L/∂%s{names[p]}" 1e-6 (numeric ps[p]) grads[p]

    expectClose $"%s{where}: ∂L/∂x" 1e-6 (numeric x) dx

/// gradCheckWith inputs uniform in [−1, 1).
let gradCheck layer input batch mode seed =
    gradCheckWith randoms layer input batch mode seed

/// Bytes allocated by one Forward+Backward of a float32 kernel of the layer (with gradients and dx) after a warm-up one.
let steadyAllocationOf (kernel: Kernel<float32>) (layer: ILayer) (input: Shape) (batch: int) (mode: Mode) =
    let rng = Random 7
    let inSize, outSize = Shape.size input, Shape.size (outShape layer input)

    let ps =
        layer.Params input
        |> Array.map (fun i -> randoms rng (Array.fold (*) 1 i.Shape) |> Array.map float32)

    let grads = ps |> Array.map (fun p -> Array.zeroCreate<float32> p.Length)
    let x = matrix inSize batch (randoms rng (inSize * batch) |> Array.map float32)
    let y = matrix outSize batch (Array.zeroCreate<float32>(outSize * batch))
    let dz = matrix outSize batch (randoms rng (outSize * batch) |> Array.map float32)
    let dx = matrix inSize batch (Array.zeroCreate<float32>(inSize * batch))

    let once () =
        kernel.Forward(ps, x, y, mode)
        kernel.Backward(ps, x, y, dz, ValueSome grads, ValueSome dx)

    once ()
    let before = GC.GetAllocatedBytesForCurrentThread()
    once ()
    GC.GetAllocatedBytesForCurrentThread() - before

/// steadyAllocationOf the kernel the layer binds.
let steadyAllocation (layer: ILayer) (input: Shape) (batch: int) (mode: Mode) =
    steadyAllocationOf (layer.Bind<float32>(input, batch)) layer input batch mode

/// y, ∂L/∂θ and ∂L/∂x of one Forward+Backward in 'T under the given backend, returned as float64.
let runOn<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (backend: Tensor.Backend)
    (layer: ILayer)
    (input: Shape)
    (batch: int)
    (mode: Mode)
    (seed: int)
    =
    let rng = Random seed
    let inSize, outSize = Shape.size input, Shape.size (outShape layer input)
    let cast (a: float[]) = a |> Array.map 'T.CreateTruncating
    let back (a: 'T[]) = a |> Array.map Double.CreateTruncating

    let ps =
        layer.Params input
        |> Array.map (fun i -> randoms rng (Array.fold (*) 1 i.Shape) |> cast)

    let x = randoms rng (inSize * batch) |> cast
    let dz = randoms rng (outSize * batch) |> cast

    Tensor.Blas.With backend (fun () ->
        let kernel = layer.Bind<'T>(input, batch)
        let y = Array.zeroCreate<'T>(outSize * batch)
        let grads = ps |> Array.map (fun p -> Array.create p.Length 'T.NaN)
        let dx = Array.create (inSize * batch) 'T.NaN
        kernel.Forward(ps, matrix inSize batch x, matrix outSize batch y, mode)

        kernel.Backward(
            ps,
            matrix inSize batch x,
            matrix outSize batch y,
            matrix outSize batch dz,
            ValueSome grads,
            ValueSome(matrix inSize batch dx)
        )

        back y, Array.map back grads, back dx)

/// One Forward+Backward under OpenBLAS and under the managed provider agree within tol (skipped without OpenBLAS).
let backendsAgree<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (tol: float)
    (layer: ILayer)
    (input: Shape)
    (batch: int)
    (seed: int)
    =
    if Tensor.Blas.NativeAvailable then
        let mode =
            { Mode.eval with
                Training = true
                Seed = 3
            }

        let y1, g1, dx1 = runOn<'T> Tensor.OpenBlas layer input batch mode seed
        let y2, g2, dx2 = runOn<'T> Tensor.Managed layer input batch mode seed
        let what = sprintf "%s on %s (%s)" layer.Text (Shape.text input) typeof<'T>.Name
        expectClose $"%s{what}: y" tol y1 y2

        for p in 0 .. g1.Length - 1 do
            expectClose $"%s{what}: gradient %d{p}" tol g1[p] g2[p]

        expectClose $"%s{what}: dx" tol dx1 dx2
    else
        skiptest "OpenBLAS is not installed"

/// Parses a layer's text with its kind's syntax.
let parse (syntax: Syntax) (text: string) =
    match text.Split(' ', StringSplitOptions.RemoveEmptyEntries) |> List.ofArray with
    | k :: words when k = syntax.Keyword -> syntax.Parse words
    | _ -> Error(sprintf "'%s' does not start with %s" text syntax.Keyword)
