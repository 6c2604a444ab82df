/// Every attack behind one entry point, and the AutoAttack ensemble (Croce & Hein 2020): APGD-CE, then APGD-T, then
/// Square, each run only on the examples that every attack before it left correctly classified; an example counts
/// as robust only if it survives all of them (the worst case per example). APGD and Square attack only examples
/// classified correctly when clean, as the protocol does; the others are already wrong.
module Functional.AutoAttack

open System
open System.Numerics
open Functional.Arch
open Functional.Network
open Functional.Data
open Functional.Attacks
open Functional.Margins

/// The stages a method runs, in order.
let stages =
    function
    | AutoAttack -> [ ApgdCe; ApgdT; Square ]
    | m -> [ m ]

/// `attack` over the first `count` images (scaled by `scale`) in chunks of `chunk`, keeping the first `keep`
/// adversarial inputs. FGSM and PGD run as Attacks.run does.
let run<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (net: Network<'T>)
    (scale: Scale)
    (images: Images)
    (count: int)
    (chunk: int)
    (keep: int)
    (attack: Attack)
    : Outcome =
    match attack.Method with
    | Fgsm
    | Pgd -> Attacks.run net scale images count chunk keep attack
    | _ when attack.Target >= 0 ->
        invalidArg "attack" (sprintf "%s is untargeted (APGD-T picks its own targets)" (Method.name attack.Method))
    | _ ->
        let r = range scale
        let pool = Pool<'T>(net, scale, images)
        let classes = pool.Classes
        let f = images.Features
        let label i = int images.Labels[i]
        let all = Array.init count id
        let x = Array.init count (fun _ -> Array.zeroCreate f)
        let pred = Array.zeroCreate count
        let conf = Array.zeroCreate count

        for offset, n in Data.batches count chunk do
            let s = pool.Scratch n
            let x0 = pool.Clean all offset n
            Array.blit x0 0 (Tensor.data s.X) 0 x0.Length
            s.Forward()
            let p = predictions s.Output n
            let out = Tensor.data s.Output

            for j in 0 .. n - 1 do
                let i = offset + j
                x[i] <- Array.init f (fun e -> Double.CreateTruncating x0[j * f + e])
                pred[i] <- p[j]
                conf[i] <- Double.CreateTruncating out[j * classes + p[j]]

        let standing = Array.init count (fun i -> pred[i] = label i)
        let cleanCorrect = standing |> Array.filter id |> Array.length
        let mutable firstStep, firstRestart = nan, nan
        let shape = Square.picture net.Arch.Input

        let broken =
            [|
                for stage in stages attack.Method do
                    let indices = all |> Array.filter (fun i -> standing[i])
                    let forwards, backwards = pool.Forwards, pool.Backwards

                    let found =
                        if attack.Eps = 0.0 || indices.Length = 0 then
                            None
                        else
                            let a = { attack with Method = stage }

                            match stage with
                            | ApgdCe -> Some(Apgd.run pool r Apgd.CrossEntropy a indices label chunk)
                            | ApgdT -> Some(Apgd.run pool r Apgd.DlrTargeted a indices label chunk)
                            | _ -> Some(Square.run pool shape r a indices label chunk)

                    let mutable fooled = 0

                    match found with
                    | None -> ()
                    | Some found ->
                        if Double.IsNaN firstRestart then
                            let frac (b: bool[]) =
                                float (indices.Length - (b |> Array.filter id |> Array.length)) / float count

                            firstRestart <- frac found.FooledFirstRestart

                            if stage <> Square then
                                firstStep <- frac found.FooledFirst

                        for k in 0 .. indices.Length - 1 do
                            let i = indices[k]
                            x[i] <- found.X[k]
                            pred[i] <- found.Pred[k]
                            conf[i] <- found.Conf[k]

                            if found.Fooled[k] then
                                standing[i] <- false
                                fooled <- fooled + 1

                    yield
                        {
                            Method = stage
                            Broken = fooled
                            Forwards = pool.Forwards - forwards
                            Backwards = pool.Backwards - backwards
                        }
            |]

        let frac a = float a / float (max count 1)
        let correct = standing |> Array.filter id |> Array.length
        let single = attack.Method <> AutoAttack

        {
            Attack = attack
            Count = count
            Accuracy = frac correct
            AccuracyFirstStep =
                (if single && not (Double.IsNaN firstStep) then
                     firstStep
                 elif single && attack.Method <> Square then
                     frac cleanCorrect
                 else
                     nan)
            AccuracyFirstRestart =
                (if not single then nan
                 elif Double.IsNaN firstRestart then frac cleanCorrect
                 else firstRestart)
            TargetHits = nan
            Confidence = (if count = 0 then 0.0 else Array.average conf)
            Predictions = pred
            Examples = x |> Array.truncate keep
            Forwards = pool.Forwards
            Backwards = pool.Backwards
            Stages = (if single then [||] else broken)
        }
