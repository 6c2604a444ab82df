module Functional.Tests.Core.AugmentTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Functional
open Functional.Augment
open Functional.Tests.Core.Helpers

/// A 28×28 image with a block of ink away from the border (so whole-pixel shifts of ≤ 2 keep all of it).
let private digit () =
    Array.init 784 (fun i ->
        let r, c = i / 28, i % 28

        if r >= 8 && r < 20 && c >= 10 && c < 18 then
            float32 ((r * 7 + c * 3) % 10 + 1) / 10.0f
        else
            0.0f)

let private parse (text: string) =
    match Augment.parse text with
    | Ok a -> a
    | Error e -> failtest e

let private applied (a: Augment) seed epoch index (image: float32[]) =
    let x = Array.copy image
    Augmenter(a, 28, 28).Apply(x, 0, 0.0f, seed, epoch, index)
    x

let private cases =
    gen {
        let! seed = Gen.choose (-100, 100)
        let! epoch = Gen.choose (0, 50)
        let! index = Gen.choose (0, 60000)

        let! spec =
            Gen.elements
                [
                    "shift:2"
                    "rotate:15"
                    "scale:0.1"
                    "elastic:34:4"
                    "shift:2,rotate:10,scale:0.1,elastic:8:4"
                ]

        return seed, epoch, index, spec
    }
    |> Arb.fromGen

let augmentTests =
    testList
        "Augment"
        [
            testPropertyWithConfig (config 100) "deterministic for (seed, epoch, index), and the pixel range is kept"
            <| Prop.forAll cases (fun (seed, epoch, index, spec) ->
                let a = parse spec
                let image = digit ()
                let x = applied a seed epoch index image
                Expect.equal (applied a seed epoch index image) x "the same bits again"
                // Bilinear sampling mixes pixels with weights that sum to 1: nothing leaves [blank, max].
                let hi = Array.max image

                Expect.isTrue
                    (x |> Array.forall (fun v -> v >= 0.0f && v <= hi + 1e-6f))
                    "values within the image's range")

            test "another example or another epoch is distorted differently" {
                let a = parse "shift:2,rotate:10"
                let image = digit ()
                let x = applied a 1 0 5 image
                Expect.notEqual (applied a 1 0 6 image) x "another index"
                Expect.notEqual (applied a 1 1 5 image) x "another epoch"
                Expect.notEqual (applied a 2 0 5 image) x "another seed"
            }

            test "a shift moves whole pixels: the ink is the same values, moved" {
                let image = digit ()

                for index in 0..20 do
                    let x = applied (parse "shift:2") 1 0 index image
                    Expect.equal (Array.sort x) (Array.sort image) "the same values"
                    // The offset of the first inked pixel is the shift, and every pixel agrees with it.
                    let first (a: float32[]) = Array.findIndex (fun v -> v > 0.0f) a
                    let d = first x - first image

                    let dr, dc =
                        int (Math.Round(float d / 28.0)), d - 28 * int (Math.Round(float d / 28.0))

                    Expect.isTrue (abs dr <= 2 && abs dc <= 2) $"shift (%d{dr}, %d{dc}) within ±2"

                    for i in 0..783 do
                        let r, c = i / 28 - dr, i % 28 - dc

                        let expected =
                            if r >= 0 && r < 28 && c >= 0 && c < 28 then
                                image[r * 28 + c]
                            else
                                0.0f

                        Expect.equal x[i] expected $"pixel %d{i}"
            }

            test "blank pixels take the scaled value of 0 under each input scale" {
                let image = Array.create 784 0.01f
                image[14 * 28 + 14] <- 1.0f
                let x = Array.copy image
                Augmenter(parse "rotate:30,scale:0.2", 28, 28).Apply(x, 0, 0.01f, 3, 0, 0)
                Expect.isTrue (x |> Array.forall (fun v -> v >= 0.01f - 1e-6f)) "no value below the blank 0.01"
            }

            test "none changes nothing; parse names what is wrong" {
                Expect.equal (parse "none") Augment.none "none"
                Expect.isTrue (Augment.isNone (parse "none")) "isNone"
                Expect.equal (parse "shift:2,elastic:34").Sigma 4.0 "elastic's default σ"
                Expect.equal (Augment.text (parse "shift:2,rotate:10")) "shift:2,rotate:10" "text"

                for bad, fragment in
                    [
                        "shift:1.5", "whole number"
                        "rotate:-3", "0..180"
                        "scale:1.5", "[0, 1)"
                        "blur:2", "not an augmentation"
                        "elastic:34:0", "sigma"
                    ] do
                    match Augment.parse bad with
                    | Ok _ -> failtest $"'%s{bad}' accepted"
                    | Error e -> Expect.stringContains e fragment bad
            }

            test "augmenting a batch allocates nothing per example" {
                let aug = Augmenter(parse "shift:2,rotate:10,scale:0.1,elastic:34:4", 28, 28)
                let x = Array.init (784 * 8) (fun i -> float32 (i % 13) / 13.0f)
                // Warm up past the JIT's tiering, whose own bookkeeping is counted on this thread too.
                for k in 0..299 do
                    aug.Apply(x, (k % 8) * 784, 0.0f, 1, 0, k)

                let before = GC.GetAllocatedBytesForCurrentThread()

                for k in 0..999 do
                    aug.Apply(x, (k % 8) * 784, 0.0f, 1, 1, k)

                let bytes = GC.GetAllocatedBytesForCurrentThread() - before
                Expect.isLessThan bytes 1000L "bytes allocated by 1,000 examples"
            }

            test "the split is stratified, disjoint, complete and a function of the seed" {
                let labels = Array.init 1000 (fun i -> byte ((i * 7 + i / 13) % 10))
                let train, held = Data.stratifiedSplit 5 0.1 labels
                Expect.equal (Array.sort (Array.append train held)) (Array.init 1000 id) "every index once"
                Expect.equal (Data.stratifiedSplit 5 0.1 labels) (train, held) "deterministic"
                Expect.notEqual (snd (Data.stratifiedSplit 6 0.1 labels)) held "another seed, another split"

                for c in 0uy .. 9uy do
                    let all = labels |> Array.filter ((=) c) |> Array.length
                    let h = held |> Array.filter (fun i -> labels[i] = c) |> Array.length
                    Expect.equal h (int (Math.Round(0.1 * float all, MidpointRounding.AwayFromZero))) $"class %d{c}"

                Expect.equal (Data.stratifiedSplit 5 0.0 labels) (Array.init 1000 id, [||]) "0: nothing held out"
            }
        ]

[<Tests>]
let tests = testList "Core" [ augmentTests ]
