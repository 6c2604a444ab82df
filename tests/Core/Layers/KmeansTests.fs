module Functional.Tests.Core.KmeansTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Functional
open Functional.Init
open Functional.Tests.Core.Helpers

/// `count` points of `f` features: point n from blob n % 4, the blobs 20 apart with unit spread.
let private blobs (seed: int) (count: int) (f: int) =
    let rng = Rng.For(seed, 7)

    let centres =
        Array.init (4 * f) (fun e -> 20.0 * float (e / f) + 4.0 * rng.NextDouble())

    {
        Kmeans.X =
            Array.init (count * f) (fun e ->
                let n, i = e / f, e % f
                float32 (centres[(n % 4) * f + i] + rng.NextNormal()))
        Kmeans.Count = count
        Kmeans.Features = f
    }

let private point (p: Kmeans.Points) n =
    Array.init p.Features (fun i -> float p.X[n * p.Features + i])

/// Σ_n min_k ‖x_n − c_k‖², directly.
let private inertia (centres: float[]) (k: int) (p: Kmeans.Points) =
    let f = p.Features

    Array.init p.Count (fun n ->
        Array.init k (fun j ->
            Array.init f (fun i -> float p.X[n * f + i] - centres[j * f + i])
            |> Array.sumBy (fun d -> d * d))
        |> Array.min)
    |> Array.sum

[<Tests>]
let tests =
    testList
        "Kmeans"
        [
            testPropertyWithConfig (config 30) "k-means++ picks k distinct points of the data"
            <| Prop.forAll (Arb.fromGen (Gen.zip (Gen.choose (0, 100_000)) (Gen.choose (1, 12)))) (fun (seed, k) ->
                let p = blobs seed 40 5
                let c = Kmeans.seed (Rng.For(seed, 1)) k p
                let picked = Array.init k (fun j -> c[j * 5 .. j * 5 + 4])
                let points = Array.init p.Count (point p)

                for q in picked do
                    Expect.isTrue (points |> Array.exists (fun x -> x = q)) "each seed is a data point"

                Expect.equal (Array.distinct picked).Length k "no point twice")

            testPropertyWithConfig (config 30) "each Lloyd iteration lowers the inertia or keeps it"
            <| Prop.forAll (Arb.fromGen (Gen.zip (Gen.choose (0, 100_000)) (Gen.choose (1, 8)))) (fun (seed, k) ->
                let p = blobs seed 60 4
                let mutable c = Kmeans.seed (Rng.For(seed, 2)) k p
                let mutable before = inertia c k p
                let _, reported = Kmeans.assign c k p
                Expect.floatClose Accuracy.low reported before "assign's inertia is Σ min ‖x − c‖² (float32 distances)"

                for _ in 1..5 do
                    c <- Kmeans.lloyd c k p
                    let after = inertia c k p
                    Expect.isLessThanOrEqual after (before * (1.0 + 1e-6)) "inertia does not grow"
                    before <- after)

            test "fit is a pure function of the generator's seed and the data, and finds separated blobs" {
                let p = blobs 11 200 6
                let a = Kmeans.fit (Rng.For(3, 0)) 4 20 p
                let b = Kmeans.fit (Rng.For(3, 0)) 4 20 p
                let c = Kmeans.fit (Rng.For(4, 0)) 4 20 { p with X = Array.copy p.X }
                Expect.equal a b "same seed, same centres"
                // Points n and n+4 come from the same blob; the 4 blobs are 4 clusters.
                let labels, _ = Kmeans.assign a 4 p
                Expect.equal (Array.distinct labels).Length 4 "four clusters"

                for n in 0 .. p.Count - 5 do
                    Expect.equal labels[n] labels[n + 4] "a blob is one cluster"

                Expect.isLessThan
                    (inertia a 4 p)
                    (inertia (Kmeans.seed (Rng.For(3, 0)) 4 p) 4 p + 1e-9)
                    "Lloyd improves on the seeds"

                Expect.isGreaterThan c.Length 0 "another seed also fits"
            }

            test "more centres than distinct points: repeats, and the width heuristic falls back" {
                let p = blobs 5 3 2
                let c = Kmeans.fit (Rng.For(1, 0)) 6 5 p
                Expect.equal c.Length 12 "six centres"
                let nearest = Kmeans.nearestOther c 6 2
                Expect.isTrue (nearest |> Array.exists (fun d -> d = 0.0)) "a repeated centre"
                let sigma = Layers.Rbf.widths 1.0 nearest
                Expect.all sigma (fun s -> s > 0.0 && Double.IsFinite s) "every σ positive and finite"
                Expect.equal (Layers.Rbf.widths 1.0 [| Double.PositiveInfinity |]) [| 1.0 |] "a lone centre: σ = width"
            }
        ]
