/// How people see layers and small numbers, the same in every command, file and picture: a layer is its
/// 1-based number for people with the tensor prefix it is saved under (`layer 2 (layers.1)`), and a small
/// number is two significant digits in exponent form (`2.4e-07`), so figures from different commands compare
/// at a glance.
module Functional.Display

open System
open System.Globalization

/// Layer l (0-based, as in the tensor names `layers.{l}.…`) for people: "layer 1 (layers.0)".
let layer (l: int) =
    sprintf "layer %d (layers.%d)" (l + 1) l

/// Layer l with what it is, where the message needs both: "layer 3 (layers.2, dense 10 softmax)".
let layerWith (l: int) (text: string) =
    sprintf "layer %d (layers.%d, %s)" (l + 1) l text

/// A small or widely ranging figure: "2.4e-07", "-1.3e+02", "0.0e+00", "NaN", "inf", "-inf".
let small (x: float) =
    if Double.IsNaN x then "NaN"
    elif Double.IsPositiveInfinity x then "inf"
    elif Double.IsNegativeInfinity x then "-inf"
    else x.ToString("0.0e+00", CultureInfo.InvariantCulture)
