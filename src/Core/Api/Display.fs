/// The facade's wording: how every command names layers and prints small numbers and sizes (Display.fs).
namespace Functional.Api

open Functional

[<AbstractClass; Sealed>]
type Display =
    /// Layer l (0-based) as every command names it: "layer 1 (layers.0)".
    static member LayerName(l: int) = Functional.Display.layer l

    /// Layer l with what it is: "layer 3 (layers.2, dense 10 softmax)".
    static member LayerName(l: int, text: string) = Functional.Display.layerWith l text

    /// A small figure as every command prints it: "2.4e-07".
    static member Small(x: float) = Functional.Display.small x

    /// "3.1 TB".
    static member BytesText(bytes: float) = Arch.Arch.bytesText bytes
