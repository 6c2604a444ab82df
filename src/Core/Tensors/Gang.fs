/// The threads that share a product, a layer's examples or any other work cut into pieces. The pieces are cut
/// by the caller from the work's shape alone, never from the thread count, and each piece writes its own part
/// of the result: so 1, 2 or 64 threads give the same bits, only sooner. OpenBLAS runs single-threaded inside
/// every piece (Tensor.Blas.SetThreads), because its own splitting depends on its thread count.
/// The workers are started once and handed work through fields, so a steady-state step allocates nothing.
namespace Functional

open System
open System.Threading
open System.Runtime.ExceptionServices

/// Work cut into pieces 0 … n−1; Do(i) must touch only what piece i owns.
[<AbstractClass; AllowNullLiteral>]
type Pieces() =
    abstract Do: piece: int -> unit

[<Sealed; AbstractClass>]
type Gang private () =
    static let gate = obj ()
    static let mutable wake: SemaphoreSlim[] = [||]
    // 1 while worker i sleeps on wake[i]: a run releases only those; the others are spinning on `generation`.
    static let mutable sleeping: int[] = [||]
    // Workers 0 … active−1 take part in runs; the others (after a Resize down) sleep and are never woken.
    static let mutable active = 0
    static let mutable generation = 0
    // The claim word: the run's generation in the high 32 bits, the next unclaimed piece in the low ones. A worker
    // claims only pieces of the generation it woke for, so a late one can never take a piece of a later run.
    static let mutable claimWord = 0L
    static let closed = 0x7FFFFFFFL
    static let mutable work: Pieces = null
    static let mutable count = 0
    static let mutable finished = 0
    static let mutable failure: exn = null
    // Spins (of ~20 pause instructions each) before a worker sleeps: a step's products follow each other within
    // microseconds, and waking a sleeping thread costs tens of them.
    static let spins = 4000

    [<ThreadStatic; DefaultValue>]
    static val mutable private inside: bool

    [<ThreadStatic; DefaultValue>]
    static val mutable private context: int

    // The context of the thread that started the current run, which its workers take on for its pieces.
    static let mutable runContext = 0

    static let claim (mine: int) =
        let mutable go = true

        while go do
            let v = Volatile.Read(&claimWord)
            let i = int (v &&& 0xFFFFFFFFL)

            if int (v >>> 32) <> mine || i >= count then
                go <- false
            elif Interlocked.CompareExchange(&claimWord, v + 1L, v) = v then
                try
                    work.Do i
                with e ->
                    Interlocked.CompareExchange(&failure, e, null) |> ignore

                Interlocked.Increment(&finished) |> ignore

    static let sleep (me: int) (seen: int) =
        Volatile.Write(&sleeping[me], 1)

        // A run that began before the flag was set must not be missed: take the flag back, or, when that run
        // already took it (and so releases us), consume its release.
        if
            Volatile.Read(&generation) = seen
            || Interlocked.CompareExchange(&sleeping[me], 0, 1) <> 1
        then
            wake[me].Wait()

    static let loop (me: int) =
        Gang.inside <- true
        let mutable seen = Volatile.Read(&generation)

        while true do
            let mutable tries = 0

            while Volatile.Read(&generation) = seen && tries < spins do
                Thread.SpinWait 20
                tries <- tries + 1

            if Volatile.Read(&generation) = seen || me >= active then
                sleep me seen

            seen <- Volatile.Read(&generation)

            if me < active then
                Gang.context <- Volatile.Read(&runContext)
                claim seen

    /// True inside a piece of work, whichever thread runs it: work started there is not cut again, so it is done
    /// the same way at every thread count.
    static member Inside = Gang.inside

    /// Per-thread settings that pieces of work inherit from the thread that starts them (Tensor.Blas keeps its
    /// scoped backend and fixed order here), whichever thread runs them.
    static member Context
        with get () = Gang.context
        and set (v: int) = Gang.context <- v

    /// Piece i of `pieces` equal runs of 0 … total−1: [lo, hi).
    static member Range(total: int, pieces: int, i: int) =
        let per = (total + pieces - 1) / pieces
        struct (min total (i * per), min total ((i + 1) * per))

    /// Threads working, the caller's included.
    static member Size = active + 1

    /// Uses n threads from now on (the caller and n − 1 workers); the host's --threads.
    static member Resize(n: int) =
        lock gate (fun () ->
            let n = max 1 n
            let all = wake.Length

            if n - 1 > all then
                wake <- Array.append wake (Array.init (n - 1 - all) (fun _ -> new SemaphoreSlim(0)))
                sleeping <- Array.append sleeping (Array.zeroCreate (n - 1 - all))

                for i in all .. n - 2 do
                    Thread((fun () -> loop i), IsBackground = true, Name = "functional gang").Start()

            active <- n - 1)

    /// Runs work.Do 0 … pieces−1, spread over the gang; returns when all are done. Called from inside a piece, or
    /// while another thread's run holds the gang, it runs the pieces itself, in order: same result.
    static member Run(pieces: int, w: Pieces) =
        if pieces <= 1 || active = 0 || Gang.inside || not (Monitor.TryEnter gate) then
            let saved = Gang.inside
            Gang.inside <- true

            try
                for i in 0 .. pieces - 1 do
                    w.Do i
            finally
                Gang.inside <- saved
        else
            try
                let g = generation + 1
                Volatile.Write(&claimWord, (int64 g <<< 32) ||| closed)
                work <- w
                runContext <- Gang.context
                count <- pieces
                failure <- null
                Volatile.Write(&finished, 0)
                Volatile.Write(&claimWord, int64 g <<< 32)
                Volatile.Write(&generation, g)

                for i in 0 .. active - 1 do
                    if Interlocked.Exchange(&sleeping[i], 0) = 1 then
                        wake[i].Release() |> ignore

                Gang.inside <- true

                try
                    claim g
                finally
                    Gang.inside <- false

                let mutable spin = SpinWait()

                while Volatile.Read(&finished) < pieces do
                    spin.SpinOnce(-1)

                work <- null
            finally
                Monitor.Exit gate

            match failure with
            | null -> ()
            | e -> ExceptionDispatchInfo.Capture(e).Throw()
