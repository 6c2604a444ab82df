/// The one door between C# and the F# core: the host (functional.dll) names nothing in Functional.Core but the
/// facade (namespace Functional.Api) and the few types it holds, and the facade's signatures carry no F# types
/// that C# reads awkwardly. Both are read from the built assemblies, so a new direct call fails here.
module Functional.Tests.FacadeTests

open System
open System.IO
open System.Reflection
open System.Reflection.Metadata
open System.Reflection.PortableExecutable
open Expecto

/// The core types the host may hold and read: records, classes and small unions whose members C# can use
/// (properties, Is* tests, With* copies). Modules are never here: their functions go through the facade.
let allowed =
    set
        [
            // What a run is made of: configuration, architecture, data, trainer, model.
            "Functional.Config"
            "Functional.Precision"
            "Functional.Arch+Arch"
            "Functional.Layers.Layer+ParamInfo"
            "Functional.Activations+Activation"
            "Functional.Losses+Reduction"
            "Functional.Init+Init"
            "Functional.Optim+OptimizerSpec"
            "Functional.Schedule+Request"
            "Functional.Schedule+Schedule"
            "Functional.Augment+Augment"
            "Functional.Data+Images"
            "Functional.Data+Scale"
            "Functional.Data+StepBatch"
            "Functional.FeatureScale+Transform"
            "Functional.NamedArray"
            "Functional.Trainer"
            "Functional.StepSummary"
            "Functional.Step+StepReport"
            "Functional.Model"
            "Functional.ModelSpec"
            "Functional.Evaluation"
            "Functional.OnnxGraph+Initializer"
            // What the checks report: the doctor, gradcheck, drift, lr-find, bench's profile.
            "Functional.Diagnostics+Probe"
            "Functional.Diagnostics+DataSummary"
            "Functional.Diagnostics+LayerHealth"
            "Functional.Diagnostics+LayerSample"
            "Functional.Diagnostics+PredictionSummary"
            "Functional.Diagnostics+ThroughTime"
            "Functional.Diagnostics+RbfUnits"
            "Functional.GradCheck+LayerCheck"
            "Functional.GradCheck+DirectionalCheck"
            "Functional.GradCheck+DirectionCheck"
            "Functional.Snapshot+Drift"
            "Functional.Trajectory+Report"
            "Functional.Trajectory+Sample"
            "Functional.Trajectory+LayerDrift"
            "Functional.LrFinder+Finding"
            "Functional.Profile+LayerTime"
            // Attacks: what one is, what it found.
            "Functional.Attacks+Attack"
            "Functional.Attacks+Adversarial"
            "Functional.Attacks+Method"
            "Functional.Attacks+Range"
            "Functional.Attacks+Outcome"
            "Functional.Attacks+Stage"
        ]

let private facadeNamespace = "Functional.Api"

let private inFacade (name: string) = name.StartsWith(facadeNamespace + ".")

/// A referenced type as "Namespace.Outer+Inner" and the assembly it comes from ("" when not a reference).
type private TypeName = { Name: string; Assembly: string }

let rec private typeRefName (md: MetadataReader) (h: TypeReferenceHandle) : TypeName =
    let t = md.GetTypeReference h
    let name = md.GetString t.Name

    match t.ResolutionScope.Kind with
    | HandleKind.TypeReference ->
        let outer = typeRefName md (TypeReferenceHandle.op_Explicit t.ResolutionScope)

        { outer with
            Name = outer.Name + "+" + name
        }
    | HandleKind.AssemblyReference ->
        let a =
            md.GetAssemblyReference(AssemblyReferenceHandle.op_Explicit t.ResolutionScope)

        let ns = md.GetString t.Namespace

        {
            Name = (if ns = "" then name else ns + "." + name)
            Assembly = md.GetString a.Name
        }
    | _ -> { Name = name; Assembly = "" }

/// Decodes a member's parent type specification down to its generic type (Checked`1<Config> → Checked`1).
type private GenericTypeOf(md: MetadataReader) =
    let none = { Name = ""; Assembly = "" }

    interface ISignatureTypeProvider<TypeName, obj> with
        member _.GetPrimitiveType _ = none
        member _.GetTypeFromDefinition(_, _, _) = none
        member _.GetTypeFromReference(_, h, _) = typeRefName md h
        member _.GetTypeFromSpecification(_, _, _, _) = none
        member _.GetSZArrayType _ = none
        member _.GetArrayType(_, _) = none
        member _.GetByReferenceType _ = none
        member _.GetPointerType _ = none
        member _.GetGenericInstantiation(g, _) = g
        member _.GetGenericTypeParameter(_, _) = none
        member _.GetGenericMethodParameter(_, _) = none
        member _.GetFunctionPointerType _ = none
        member _.GetModifiedType(_, u, _) = u
        member _.GetPinnedType e = e

/// Every type and member the assembly at `path` names in `core` for which `ok` fails ("type N", "member N::M").
let private coreReferences (path: string) (core: string) (ok: TypeName -> bool) : string list =
    use pe = new PEReader(File.OpenRead path)
    let md = pe.GetMetadataReader()

    // A module enclosing an allowed type is named only as that type's scope; a use of it shows as a member.
    let scopes =
        md.TypeReferences
        |> Seq.map md.GetTypeReference
        |> Seq.filter (fun t -> t.ResolutionScope.Kind = HandleKind.TypeReference)
        |> Seq.map (fun t -> TypeReferenceHandle.op_Explicit t.ResolutionScope: TypeReferenceHandle)
        |> Collections.Generic.HashSet

    let types =
        [
            for h in md.TypeReferences do
                let t = typeRefName md h

                if t.Assembly = core && not (scopes.Contains h) && not (ok t) then
                    $"type {t.Name}"
        ]

    let generic = GenericTypeOf md

    let members =
        [
            for h in md.MemberReferences do
                let m = md.GetMemberReference h

                let parent =
                    match m.Parent.Kind with
                    | HandleKind.TypeReference -> Some(typeRefName md (TypeReferenceHandle.op_Explicit m.Parent))
                    | HandleKind.TypeSpecification ->
                        let spec = md.GetTypeSpecification(TypeSpecificationHandle.op_Explicit m.Parent)
                        Some(spec.DecodeSignature(generic, null))
                    | _ -> None

                match parent with
                | Some t when t.Assembly = core && not (ok t) -> $"member {t.Name}::{md.GetString m.Name}"
                | _ -> ()
        ]

    List.distinct (types @ members)

/// Every type and member the assembly at `path` names in `core` outside the facade and the allow-list.
let outsideFacade (path: string) (core: string) =
    coreReferences path core (fun t -> inFacade t.Name || allowed.Contains t.Name)

/// F# types a C# caller cannot use plainly: lists, options, reference tuples, function values.
let private fsharpOnly (t: Type) =
    let d = if t.IsGenericType then t.GetGenericTypeDefinition() else t

    (d.Namespace = "Microsoft.FSharp.Core"
     || d.Namespace = "Microsoft.FSharp.Collections")
    && (d.Name.StartsWith "FSharpList"
        || d.Name.StartsWith "FSharpOption"
        || d.Name.StartsWith "FSharpValueOption"
        || d.Name.StartsWith "FSharpFunc")
    || d.Namespace = "System" && d.Name.StartsWith "Tuple`"

/// `t` and every type inside it (array elements, generic arguments, by-ref targets).
let rec private parts (t: Type) : Type seq =
    seq {
        yield t

        if t.HasElementType then
            yield! parts (t.GetElementType())

        if t.IsGenericType then
            for a in t.GetGenericArguments() do
                yield! parts a
    }

/// Every F#-only type in the public signatures (parameters, returns, properties, fields) of these types.
let fsharpInSignatures (types: Type seq) : string list =
    let flags =
        BindingFlags.Public
        ||| BindingFlags.Static
        ||| BindingFlags.Instance
        ||| BindingFlags.DeclaredOnly

    [
        for t in types do
            for m in t.GetMembers flags do
                let used: (string * Type) list =
                    match m with
                    | :? MethodBase as mb ->
                        [
                            for p in mb.GetParameters() -> p.Name, p.ParameterType
                            match mb with
                            | :? MethodInfo as mi -> yield "return", mi.ReturnType
                            | _ -> ()
                        ]
                    | :? PropertyInfo as p -> [ "type", p.PropertyType ]
                    | :? FieldInfo as f -> [ "type", f.FieldType ]
                    | _ -> []

                for what, ty in used do
                    for bad in parts ty |> Seq.filter fsharpOnly do
                        $"{t.FullName}.{m.Name} ({what}): {bad.Name}"
    ]
    |> List.distinct

let private facadeTypes () =
    typeof<Functional.Api.Training>.Assembly.GetExportedTypes()
    |> Array.filter (fun t -> t.Namespace = facadeNamespace)

let private hostDll = Path.Combine(AppContext.BaseDirectory, "functional.dll")

let private coreName = typeof<Functional.Api.Training>.Assembly.GetName().Name

[<Tests>]
let tests =
    testList
        "Facade"
        [
            testCase "functional.dll names nothing in the core outside Functional.Api and the allow-list"
            <| fun () ->
                let all = coreReferences hostDll coreName (fun _ -> false)
                Expect.contains all "member Functional.Api.Training::CreateTrainer" "the host's references are read"
                let outside = outsideFacade hostDll coreName
                Expect.isEmpty outside $"""the host reaches around the facade: {String.Join("; ", outside)}"""

            testCase "the reference check sees direct calls: the tests' own assembly makes them"
            <| fun () ->
                let tests = outsideFacade (Assembly.GetExecutingAssembly().Location) coreName
                Expect.contains tests "member Functional.Data::permutation" "the tests call Data.permutation directly"

            testCase "every allowed type exists in the core"
            <| fun () ->
                let core = typeof<Functional.Api.Training>.Assembly
                let missing = allowed |> Seq.filter (fun n -> isNull (core.GetType n)) |> List.ofSeq
                Expect.isEmpty missing "allow-list entries that name no core type"

            testCase "the facade's public signatures carry no F# lists, options, reference tuples or functions"
            <| fun () ->
                let types = facadeTypes ()
                Expect.isGreaterThan types.Length 5 "the facade's types are found"
                let bad = fsharpInSignatures types
                Expect.isEmpty bad $"""F# types in the facade: {String.Join("; ", bad)}"""

            testCase "the signature check sees F# types: the core's own modules have them"
            <| fun () ->
                let bad = fsharpInSignatures [ typeof<Functional.Layers.Layer.Syntax> ]
                Expect.isNonEmpty bad "Syntax.Parse is a curried function over a string list"
        ]
