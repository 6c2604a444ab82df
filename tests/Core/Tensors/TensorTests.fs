module Functional.Tests.Core.TensorTests

open System
open System.Numerics
open Expecto
open FsCheck
open FsCheck.FSharp
open MathNet.Numerics.LinearAlgebra
open Functional
open Functional.Activations
open Functional.Losses
open Functional.Init
open Functional.Layers.Layer
open Functional.Arch
open Functional.Network
open Functional.Optim
open Functional.Data
open Functional.Step
open Functional.Tests.Core.Helpers

let private backendRun<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (backend: Tensor.Backend)
    (sizes: int[])
    (cols: int)
    =
    Tensor.Blas.With backend (fun () ->
        Expect.equal Tensor.Blas.Current backend "Blas.With sets this thread's backend"
        let s = dense sizes Relu Softmax true
        // Momentum: after two steps the velocity 0.9·g1 + g2 exposes the gradients themselves.
        let h = hyper CrossEntropy Mean 0.001 (Momentum(0.05, 0.9))
        let rng = Rng.For(sizes[0] + cols, 8)
        let net = randomNet<'T> rng s
        let b1 = randomBatch<'T> rng OneHot s cols
        let b2 = randomBatch<'T> rng OneHot s cols
        let s1, r1 = step h b1 (initState h net)
        let s2, r2 = step h b2 s1
        stateArrays s2, [| r1.Loss; r2.Loss |])

let private backendsAgree<'T
    when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (tol: float)
    (sizes: int[])
    (cols: int)
    =
    let managed, managedLoss = backendRun<'T> Tensor.Managed sizes cols
    let again, againLoss = backendRun<'T> Tensor.Managed sizes cols
    expectSameBits "managed twice" managed again
    Expect.isTrue (Array.forall2 sameFloatBits managedLoss againLoss) "managed losses twice"

    if Tensor.Blas.NativeAvailable then
        let native, nativeLoss = backendRun<'T> Tensor.OpenBlas sizes cols
        let again, againLoss = backendRun<'T> Tensor.OpenBlas sizes cols
        expectSameBits "OpenBLAS twice" native again
        Expect.isTrue (Array.forall2 sameFloatBits nativeLoss againLoss) "OpenBLAS losses twice"
        expectClose "managed vs OpenBLAS state" tol managed native

        Array.iter2
            (fun m n -> Expect.floatClose { absolute = 0.0; relative = tol } n m "managed vs OpenBLAS loss")
            managedLoss
            nativeLoss

let backendTests =
    testList
        "Tensor"
        [
            for sizes, cols in
                [
                    [| 7; 5; 3 |], 1
                    [| 7; 5; 3 |], 32
                    [| 784; 12; 10 |], 32
                    [| 784; 12; 10 |], 1
                ] do
                let shape = sizes |> Array.map string |> String.concat "-"

                test $"%s{shape} batch %d{cols}: float64 agree to 1e-12, each backend repeatable" {
                    backendsAgree<float> 1e-12 sizes cols
                }

                test $"%s{shape} batch %d{cols}: float32 agree to 1e-5, each backend repeatable" {
                    backendsAgree<float32> 1e-5 sizes cols
                }

            test "Blas.With restores the thread's backend" {
                let outside = Tensor.Blas.Current
                Tensor.Blas.With Tensor.Managed (fun () -> Expect.equal Tensor.Blas.Current Tensor.Managed "inside")
                Expect.equal Tensor.Blas.Current outside "restored"

                Expect.throws
                    (fun () -> Tensor.Blas.With Tensor.Managed (fun () -> failwith "boom"))
                    "exceptions pass through"

                Expect.equal Tensor.Blas.Current outside "restored after an exception"
            }

            test "batch 1 (gemv/ger) and batch 2 (gemm) give the same per-example gradients" {
                // Two identical columns: the gemm path's gradient must equal the gemv/ger path's (Sum).
                let s = dense [| 5; 4; 3 |] Tanh Softmax true
                let h = hyper CrossEntropy Sum 0.0 (Sgd 0.1)
                let rng = Rng.For(3, 3)
                let net = randomNet<float> rng s
                let one = randomBatch<float> rng OneHot s 1

                let two =
                    {
                        X = Tensor.ofColumnMajor 5 2 (Array.append (Tensor.data one.X) (Tensor.data one.X))
                        Y = Tensor.ofColumnMajor 3 2 (Array.append (Tensor.data one.Y) (Tensor.data one.Y))
                    }

                for backend in
                    (if Tensor.Blas.NativeAvailable then
                         [ Tensor.Managed; Tensor.OpenBlas ]
                     else
                         [ Tensor.Managed ]) do
                    Tensor.Blas.With backend (fun () ->
                        let l1, g1 = Step.gradients h one net
                        let l2, g2 = Step.gradients h two net
                        Expect.floatClose Accuracy.veryHigh l2 (2.0 * l1) "loss doubles"
                        let doubled = Array.concat g1 |> Array.map (Array.map ((*) 2.0))
                        expectClose $"%A{backend}" 1e-14 doubled (Array.concat g2))
            }
        ]


[<Tests>]
let tests = testList "Core" [ backendTests ]
