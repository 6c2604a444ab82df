/// The record every preset is (Presets.Preset), and the architecture parser presets use.
module Functional.Cli.PresetRecord

open Functional
open Functional.Activations
open Functional.Losses
open Functional.Init
open Functional.Optim
open Functional.Data
open Functional.Arch

/// A named configuration for train, doctor and gradcheck (Presets.fs): it only changes defaults.
type Preset =
    {
        Name: string
        /// What it is, in one line of train's --help.
        Summary: string
        Config: Config
        Epochs: int
        /// 0 = every training image.
        TrainCount: int
        /// The fraction of the training set held out for validation.
        Validation: float
        /// The learning-rate schedule, in epochs.
        Schedule: Schedule.Request
    }

/// A preset's architecture from --arch syntax; a preset's own text never fails to parse.
let arch (text: string) =
    match Arch.parse [| 1; 28; 28 |] text with
    | Ok a -> a
    | Error e -> failwithf "preset architecture '%s': %s" text e
