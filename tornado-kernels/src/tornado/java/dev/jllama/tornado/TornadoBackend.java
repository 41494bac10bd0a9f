package dev.jllama.tornado;

import dev.jllama.model.backend.AdamWStep;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.IntTensor;
import dev.jllama.model.backend.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.ImmutableTaskGraph;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.WorkerGrid;
import uk.ac.manchester.tornado.api.WorkerGrid1D;
import uk.ac.manchester.tornado.api.WorkerGrid3D;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.common.TornadoFunctions;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.arrays.TornadoNativeArray;

/**
 * The backend seam on a TornadoVM device. All tensors are ranges of device-resident arenas (float arrays, and
 * one int array for token ids) that are copied to the device once, when the backend starts, and stay there:
 * parameters, gradients, AdamW moments and activations never cross to the host except through
 * {@link #read}/{@link #write} (staged through small buffers) and the scalar reductions.
 *
 * <p>A TornadoVM array is indexed by {@code int}, so one arena holds under 2^31 floats (8 GiB); the configured
 * device memory is split into up to {@link ArenaMemory#SLOTS} float arenas ({@link ArenaSet}), and a tensor lives
 * inside one. Every kernel takes all eight arenas as parameters (unused slots are small placeholders) and finds
 * each operand's arena in its integer arguments ({@link ArenaMemory}), so every graph below is the same whatever
 * arena each tensor landed in: a group still runs as one execution, and one arena costs what it did. The other
 * design, binding each operand's own array into the graphs, would need a graph per placement of a group's
 * operands, and a plan's graphs are fixed when it is built; TornadoVM also cannot pick one of several array
 * parameters by a runtime value, hence one uniform branch per access.
 *
 * <p>Every kernel is one task graph, built once, in one {@link TornadoExecutionPlan}; each graph consumes the
 * arenas from the graph executed before it and persists them for the next, so the device buffers are shared.
 * Shapes and tensor offsets travel as a small per-call argument array, so each kernel compiles once for every
 * shape. Each execution of a graph costs TornadoVM a fixed 100-150 us whatever its size, so kernel calls are
 * queued and run as {@link Group}s: the same plan holds one graph per group of calls the model makes in a row (a
 * layer's forward, a layer's backward, the LM head and loss), each task with its own arguments, and a queue that
 * spells a group out runs as one execution. Calls that match no group run one graph each. {@link #read}, the
 * scalar reductions and every host-to-device copy run the queue first, so results are as if every call ran at
 * once. Not thread-safe: one backend per training thread.
 */
public final class TornadoBackend implements Backend {
    private static final int SMALL_STAGE = 1 << 14;
    /** Floats per host-device transfer of {@link #read}/{@link #write} (a list {@link #read} fills it from many tensors). */
    static final int LARGE_STAGE = 1 << 20;
    private static final int INT_STAGE = 1 << 16;
    private static final int REDUCE_GROUPS = 512;
    private static final int LOCAL = 256;
    private static final int GAIN_CHUNK_ROWS = 64;
    private static final long DEFAULT_MEMORY_MIB = 1024;
    private static final int INT_ARENA = 1 << 22;
    /** Floats of a placeholder for an arena slot the memory does not need (kernels never address it). */
    private static final int UNUSED_ARENA = ArenaAllocator.ALIGN;

    static {
        // A group graph (20-25 tasks, each with its own argument arrays) needs more TornadoVM bytecode than the
        // default 4096 bytes, which ends its compilation in a BufferOverflowException. Read by TornadoVM when it
        // compiles its first graph; a -D on the command line wins.
        if (System.getProperty("tornado.tvm.maxbytecodesize") == null) {
            System.setProperty("tornado.tvm.maxbytecodesize", "65536");
        }
    }
    /** Tensors per multi-tensor launch (longer lists take several) and work-groups per tensor of their sum of squares. */
    private static final int LIST_TENSORS = 1024;
    private static final int LIST_GROUPS_PER_TENSOR = 16;
    /** Operands of the widest multi-tensor launch (AdamW: param, grad, m, v). */
    private static final int LIST_OPERANDS = 4;
    private static final int ARGS = 32;
    private static final int FARGS = 8;

    /** The task graphs, in plan order. */
    private enum Op {
        INIT, ZERO, COPY, ADD, SCALE, SWIGLU, SWIGLU_BACKWARD, ROPE, RMSNORM, RMSNORM_BACKWARD_INPUT, GAIN_PARTIAL,
        COLUMN_SUM_ADD, EMBEDDING, EMBEDDING_BACKWARD, CROSS_ENTROPY, ADAMW, GEMM, GEMM128, GEMM_REDUCE, ATTENTION, ATTENTION_D,
        ATTENTION_DQ, ATTENTION_DKDV, WRITE_INTS, REDUCE,
        ZERO_LIST, SUM_SQUARES_LIST, ADAMW_LIST, READ_SMALL, READ_LARGE, WRITE_SMALL, WRITE_LARGE
    }

    /**
     * The backend calls that queue, each as the graph tasks it launches. {@code MATMUL} is the GEMM and, when split
     * along K, the reduction of its slices; in a group graph an unsplit GEMM's reduction slot runs empty.
     */
    private enum Call {
        ZERO(Op.ZERO), COPY(Op.COPY), ADD(Op.ADD), SCALE(Op.SCALE), SWIGLU(Op.SWIGLU),
        SWIGLU_BACKWARD(Op.SWIGLU_BACKWARD), ROPE(Op.ROPE), RMSNORM(Op.RMSNORM),
        RMSNORM_BACKWARD(Op.RMSNORM_BACKWARD_INPUT, Op.GAIN_PARTIAL, Op.COLUMN_SUM_ADD), EMBEDDING(Op.EMBEDDING),
        EMBEDDING_BACKWARD(Op.EMBEDDING_BACKWARD), CROSS_ENTROPY(Op.CROSS_ENTROPY), ADAMW(Op.ADAMW),
        MATMUL(Op.GEMM128, Op.GEMM_REDUCE), ATTENTION(Op.ATTENTION),
        ATTENTION_BACKWARD(Op.ATTENTION_D, Op.ATTENTION_DQ, Op.ATTENTION_DKDV);

        private final Op[] tasks;

        Call(Op... tasks) {
            this.tasks = tasks;
        }

        /** The graph tasks of this call when matmuls use {@code gemm}. */
        Op[] tasks(Gemm gemm) {
            if (this != MATMUL) return tasks;
            return new Op[] {gemm.op, Op.GEMM_REDUCE};
        }
    }

    /**
     * Runs of calls that {@link dev.jllama.model.LlamaModel} makes in a row, each one graph and one execution:
     * a layer's forward, the two halves of its backward (feed-forward with the recomputed RMSNorm and SwiGLU, then
     * attention with the recomputed RMSNorm; one graph of all 43 tasks left the gradients at zero on PoCL), the
     * start of the backward pass, the final norm with the first LM-head chunk, and each further LM-head chunk. A
     * change of that order makes the calls run one graph each (correct, slower); {@code
     * TornadoExecutionCountTest} fails then.
     */
    private enum Group {
        LAYER_FORWARD(Call.RMSNORM, Call.MATMUL, Call.MATMUL, Call.MATMUL, Call.ROPE, Call.ROPE, Call.ATTENTION,
                Call.MATMUL, Call.ADD, Call.RMSNORM, Call.MATMUL, Call.MATMUL, Call.SWIGLU, Call.MATMUL, Call.ADD),
        FEED_FORWARD_BACKWARD(Call.RMSNORM, Call.SWIGLU, Call.MATMUL, Call.MATMUL, Call.SWIGLU_BACKWARD, Call.MATMUL,
                Call.MATMUL, Call.MATMUL, Call.MATMUL, Call.RMSNORM_BACKWARD),
        ATTENTION_BACKWARD(Call.MATMUL, Call.MATMUL, Call.ATTENTION_BACKWARD, Call.ROPE, Call.ROPE, Call.RMSNORM,
                Call.MATMUL, Call.MATMUL, Call.MATMUL, Call.MATMUL, Call.MATMUL, Call.MATMUL, Call.RMSNORM_BACKWARD),
        BACKWARD_START(Call.ZERO, Call.RMSNORM_BACKWARD),
        HEAD(Call.RMSNORM, Call.COPY, Call.MATMUL, Call.CROSS_ENTROPY, Call.MATMUL, Call.MATMUL, Call.COPY),
        HEAD_CHUNK(Call.COPY, Call.MATMUL, Call.CROSS_ENTROPY, Call.MATMUL, Call.MATMUL, Call.COPY);

        private final Call[] calls;

        Group(Call... calls) {
            this.calls = calls;
        }
    }

    /** One kernel launch, queued: its graph, arguments and grid (y and z 1 but for the GEMMs). */
    private record Launch(Op op, int[] args, float[] fargs, long globalX, long globalY, long globalZ, int localX,
                          int localY) {}

    /** One queued backend call: its kind and its launches, in order. */
    private record Queued(Call call, List<Launch> launches) {}

    /** A group's graph: per task, its kernel, argument arrays and grid. */
    private record GroupGraph(int planIndex, Op[] ops, IntArray[] args, FloatArray[] fargs, WorkerGrid[] grids) {}

    /** The kernels that read {@code fargs}; the others get it once, as an unused parameter. */
    private static final Set<Op> FLOAT_ARG_OPS = EnumSet.of(Op.SCALE, Op.RMSNORM, Op.CROSS_ENTROPY, Op.ADAMW,
            Op.ATTENTION, Op.ATTENTION_DQ, Op.ATTENTION_DKDV);

    private final TornadoDevice device;
    /** The float arenas, {@link ArenaMemory#SLOTS} of them; those past {@link ArenaSet#count} are placeholders. */
    private final FloatArray[] arenas = new FloatArray[ArenaMemory.SLOTS];
    private final IntArray imem;
    /** The float arenas and the int arena: what every graph consumes from its predecessor and persists. */
    private final Object[] deviceArrays;
    private final IntArray args = new IntArray(ARGS);
    private final FloatArray fargs = new FloatArray(FARGS);
    private final FloatArray smallStage = new FloatArray(SMALL_STAGE);
    private final FloatArray largeStage = new FloatArray(LARGE_STAGE);
    private final IntArray intStage = new IntArray(INT_STAGE);
    private final FloatArray partials = new FloatArray(REDUCE_GROUPS);
    /** The list of a multi-tensor launch (see {@link Kernels#zeroList}) and, for AdamW, each entry's decay factor. */
    private final IntArray tensorTable = new IntArray((1 + 2 * LIST_OPERANDS) * LIST_TENSORS + 1);
    private final FloatArray tensorDecay = new FloatArray(LIST_TENSORS);
    private final FloatArray listPartials = new FloatArray(LIST_TENSORS * LIST_GROUPS_PER_TENSOR);
    private final Map<Group, GroupGraph> groupGraphs = new EnumMap<>(Group.class);
    /** The GEMM kernel the group graphs were built with; calls made with the other one run alone. */
    private final Gemm groupGemm;
    /** Calls not yet run: always a proper prefix of some group's calls, or empty. */
    private final List<Queued> queue = new ArrayList<>();
    /** The launches of the call being made, moved to {@link #queue} when it ends. */
    private final List<Launch> building = new ArrayList<>();
    private final ArenaSet floats;
    private final ArenaAllocator ints;
    private final Map<Op, WorkerGrid> grids = new EnumMap<>(Op.class);
    private final GridScheduler scheduler = new GridScheduler();
    private final TornadoExecutionPlan plan;
    private static final int LOGIT_CHUNK_ROWS = 8192;
    private Gemm gemm = configuredGemm();
    private boolean splitK = configuredSplitK();
    private TornadoTensor scratch;
    /** The split-K partial products (S*M*N floats), grown to the largest split GEMM and kept. */
    private TornadoTensor splitKPartials;
    /** The smallest partials size the arena refused (no retry at that size or above). */
    private long splitKRefused = Long.MAX_VALUE;
    private TornadoIntTensor tokenGroups;
    private long executions;
    private boolean closed;

    /** The GEMM kernels: {@link MatmulKernel} (64x64 tiles, 4x4 per thread) and {@link MatmulKernel128}. */
    public enum Gemm {
        TILE64(Op.GEMM, MatmulKernel.TILE, MatmulKernel.THREADS),
        TILE128(Op.GEMM128, MatmulKernel128.TILE, MatmulKernel128.THREADS);

        private final Op op;
        private final int tile, threads;

        Gemm(Op op, int tile, int threads) {
            this.op = op;
            this.tile = tile;
            this.threads = threads;
        }

        public int tile() {
            return tile;
        }

        /** {@code "64"} or {@code "128"}, as in {@code -Djllama.tornado.gemm}. */
        public static Gemm parse(String value) {
            for (Gemm g : values()) if (String.valueOf(g.tile).equals(value.trim())) return g;
            throw new IllegalArgumentException("jllama.tornado.gemm / JLLAMA_TORNADO_GEMM must be 64 or 128, got '"
                    + value + "'");
        }
    }

    /** GEMM kernel from {@code -Djllama.tornado.gemm} or {@code JLLAMA_TORNADO_GEMM} (64 or 128), default 64. */
    static Gemm configuredGemm() {
        String value = System.getProperty("jllama.tornado.gemm", System.getenv("JLLAMA_TORNADO_GEMM"));
        return value == null || value.isBlank() ? Gemm.TILE128 : Gemm.parse(value);
    }

    /** Split-K for GEMMs with few tiles, from {@code -Djllama.tornado.splitK} or {@code JLLAMA_TORNADO_SPLITK}: default true. */
    static boolean configuredSplitK() {
        String value = System.getProperty("jllama.tornado.splitK", System.getenv("JLLAMA_TORNADO_SPLITK"));
        if (value == null || value.isBlank()) return true;
        return switch (value.trim().toLowerCase()) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException("jllama.tornado.splitK / JLLAMA_TORNADO_SPLITK must be true or"
                    + " false, got '" + value + "'");
        };
    }

    /** Arena size from {@code -Djllama.tornado.memoryMiB} or {@code JLLAMA_TORNADO_MEMORY_MIB}, default 1 GiB. */
    static long configuredMemoryBytes() {
        String value = System.getProperty("jllama.tornado.memoryMiB", System.getenv("JLLAMA_TORNADO_MEMORY_MIB"));
        long mib = DEFAULT_MEMORY_MIB;
        if (value != null && !value.isBlank()) {
            try {
                mib = Long.parseLong(value.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("jllama.tornado.memoryMiB / JLLAMA_TORNADO_MEMORY_MIB must be a"
                        + " number of MiB, got '" + value + "'");
            }
        }
        return mib << 20;
    }

    /**
     * The most bytes of one float arena, from {@code -Djllama.tornado.arenaMiB} or {@code JLLAMA_TORNADO_ARENA_MIB};
     * default (and at most) the largest TornadoVM array, just under 8 GiB. Smaller only to test several arenas
     * with a small model.
     */
    static long configuredArenaBytes() {
        String value = System.getProperty("jllama.tornado.arenaMiB", System.getenv("JLLAMA_TORNADO_ARENA_MIB"));
        if (value == null || value.isBlank()) return 4 * ArenaSet.MAX_ARENA_ELEMENTS;
        try {
            return Long.parseLong(value.trim()) << 20;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("jllama.tornado.arenaMiB / JLLAMA_TORNADO_ARENA_MIB must be a"
                    + " number of MiB, got '" + value + "'");
        }
    }

    /**
     * @param deviceIndex device of TornadoVM's default backend, or -1 for its default device
     * @param memoryBytes device memory of the float arenas together (all tensors of the model live in them)
     */
    public TornadoBackend(int deviceIndex, long memoryBytes) {
        this(deviceIndex, memoryBytes, configuredArenaBytes());
    }

    /**
     * @param memoryBytes device memory of the float arenas together
     * @param arenaBytes the most bytes of one arena: the memory is split evenly into the fewest arenas this size
     *        or smaller (and smaller than the device's largest allocation), at most {@link ArenaMemory#SLOTS}
     */
    public TornadoBackend(int deviceIndex, long memoryBytes, long arenaBytes) {
        if (memoryBytes < (4L << 20)) {
            throw new IllegalArgumentException("TornadoVM device memory of " + memoryBytes + " bytes is too small");
        }
        this.device = TornadoDevices.device(deviceIndex);
        this.floats = new ArenaSet(memoryBytes / 4, ArenaSet.arenaElements(arenaBytes, device.getMaxAllocMemory()),
                ArenaMemory.SLOTS);
        for (int a = 0; a < ArenaMemory.SLOTS; a++) {
            // An arena's host copy is only ever read as zeros, once: pages that are never written cost nothing.
            arenas[a] = a < floats.count()
                    ? FloatArray.fromSegmentShallow(ZeroPages.allocate(TornadoNativeArray.ARRAY_HEADER
                            + floats.capacity(a) * Float.BYTES))
                    : new FloatArray(UNUSED_ARENA);
        }
        this.imem = new IntArray(INT_ARENA);
        this.deviceArrays = new Object[ArenaMemory.SLOTS + 1];
        System.arraycopy(arenas, 0, deviceArrays, 0, ArenaMemory.SLOTS);
        deviceArrays[ArenaMemory.SLOTS] = imem;
        this.ints = new ArenaAllocator("int", INT_ARENA);
        List<ImmutableTaskGraph> graphs = new ArrayList<>();
        for (Op op : Op.values()) graphs.add(build(op).snapshot());
        this.groupGemm = gemm;
        for (Group group : Group.values()) graphs.add(buildGroup(group, graphs.size()).snapshot());
        this.plan = new TornadoExecutionPlan(graphs.toArray(new ImmutableTaskGraph[0]));
        plan.withDevice(device);
        // Copies the arenas to the device once; every later graph consumes them from its predecessor.
        args.init(0);
        grids.get(Op.INIT).setGlobalWork(1, 1, 1);
        grids.get(Op.INIT).setLocalWork(1, 1, 1);
        plan.withGraph(Op.INIT.ordinal()).withGridScheduler(scheduler).execute();
    }

    private TaskGraph build(Op op) {
        KernelContext c = new KernelContext();
        FloatArray[] m = arenas;
        String name = op.name().toLowerCase();
        TaskGraph g = new TaskGraph(name);
        if (op == Op.INIT) {
            g.transferToDevice(DataTransferMode.FIRST_EXECUTION, deviceArrays)
                    .transferToDevice(DataTransferMode.EVERY_EXECUTION, args, fargs)
                    .task("t", Kernels::zero, c, m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], imem, args, fargs);
        } else {
            g.consumeFromDevice(deviceArrays);
            switch (op) {
                case WRITE_INTS -> g.transferToDevice(DataTransferMode.EVERY_EXECUTION, args, intStage)
                        .transferToDevice(DataTransferMode.FIRST_EXECUTION, fargs)
                        .task("t", Kernels::writeInts, c, m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], imem, args, fargs, intStage);
                case REDUCE -> g.transferToDevice(DataTransferMode.EVERY_EXECUTION, args)
                        .transferToDevice(DataTransferMode.FIRST_EXECUTION, fargs)
                        .task("t", Kernels::reduce, c, m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], imem, args, fargs, partials)
                        .transferToHost(DataTransferMode.EVERY_EXECUTION, partials);
                case ZERO_LIST -> g.transferToDevice(DataTransferMode.EVERY_EXECUTION, args, tensorTable)
                        .transferToDevice(DataTransferMode.FIRST_EXECUTION, fargs)
                        .task("t", Kernels::zeroList, c, m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], imem, args, fargs, tensorTable);
                case SUM_SQUARES_LIST -> g.transferToDevice(DataTransferMode.EVERY_EXECUTION, args, tensorTable)
                        .transferToDevice(DataTransferMode.FIRST_EXECUTION, fargs)
                        .task("t", Kernels::sumOfSquaresList, c, m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], imem, args, fargs, tensorTable, listPartials)
                        .transferToHost(DataTransferMode.EVERY_EXECUTION, listPartials);
                case READ_SMALL -> g.transferToDevice(DataTransferMode.EVERY_EXECUTION, args, tensorTable)
                        .transferToDevice(DataTransferMode.FIRST_EXECUTION, fargs)
                        .task("t", Kernels::gatherList, c, m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], imem, args, fargs, tensorTable, smallStage)
                        .transferToHost(DataTransferMode.EVERY_EXECUTION, smallStage);
                case READ_LARGE -> g.transferToDevice(DataTransferMode.EVERY_EXECUTION, args, tensorTable)
                        .transferToDevice(DataTransferMode.FIRST_EXECUTION, fargs)
                        .task("t", Kernels::gatherList, c, m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], imem, args, fargs, tensorTable, largeStage)
                        .transferToHost(DataTransferMode.EVERY_EXECUTION, largeStage);
                case WRITE_SMALL -> g.transferToDevice(DataTransferMode.EVERY_EXECUTION, args, tensorTable, smallStage)
                        .transferToDevice(DataTransferMode.FIRST_EXECUTION, fargs)
                        .task("t", Kernels::scatterList, c, m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], imem, args, fargs, tensorTable, smallStage);
                case WRITE_LARGE -> g.transferToDevice(DataTransferMode.EVERY_EXECUTION, args, tensorTable, largeStage)
                        .transferToDevice(DataTransferMode.FIRST_EXECUTION, fargs)
                        .task("t", Kernels::scatterList, c, m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], imem, args, fargs, tensorTable, largeStage);
                case ADAMW_LIST -> g.transferToDevice(DataTransferMode.EVERY_EXECUTION, args, fargs, tensorTable, tensorDecay)
                        .task("t", Kernels::adamwList, c, m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], imem, args, fargs, tensorTable, tensorDecay);
                // Only the kernels that read float arguments re-send them: one host-to-device copy less per call.
                default -> g.transferToDevice(DataTransferMode.EVERY_EXECUTION, args)
                        .transferToDevice(FLOAT_ARG_OPS.contains(op) ? DataTransferMode.EVERY_EXECUTION
                                : DataTransferMode.FIRST_EXECUTION, fargs)
                        .task("t", kernel(op), c, m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], imem, args, fargs);
            }
        }
        g.persistOnDevice(deviceArrays);
        // The GEMMs' third dimension counts K slices (split-K); 1 when the tile grid alone fills the device.
        WorkerGrid grid = op == Op.GEMM || op == Op.GEMM128 ? new WorkerGrid3D(1, 1, 1) : new WorkerGrid1D(1);
        grids.put(op, grid);
        scheduler.addWorkerGrid(name + ".t", grid);
        return g;
    }

    /** The kernel of a graph that takes only the arenas and the argument arrays. */
    private static TornadoFunctions.Task12<KernelContext, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray,
            FloatArray, FloatArray, FloatArray, IntArray, IntArray, FloatArray> kernel(Op op) {
        return switch (op) {
                            case ZERO -> Kernels::zero;
                            case COPY -> Kernels::copy;
                            case ADD -> Kernels::add;
                            case SCALE -> Kernels::scale;
                            case SWIGLU -> Kernels::swiglu;
                            case SWIGLU_BACKWARD -> Kernels::swigluBackward;
                            case ROPE -> Kernels::rope;
                            case RMSNORM -> Kernels::rmsnorm;
                            case RMSNORM_BACKWARD_INPUT -> Kernels::rmsnormBackwardInput;
                            case GAIN_PARTIAL -> Kernels::rmsnormGainPartial;
                            case COLUMN_SUM_ADD -> Kernels::columnSumAdd;
                            case EMBEDDING -> Kernels::embedding;
                            case EMBEDDING_BACKWARD -> Kernels::embeddingBackward;
                            case CROSS_ENTROPY -> Kernels::crossEntropy;
                            case ADAMW -> Kernels::adamw;
                            case GEMM -> MatmulKernel::gemm;
                            case GEMM128 -> MatmulKernel128::gemm;
                            case GEMM_REDUCE -> SplitK::reduce;
                            case ATTENTION -> AttentionKernels::forward;
                            case ATTENTION_D -> AttentionKernels::rowDot;
                            case ATTENTION_DQ -> AttentionKernels::backwardQuery;
                            case ATTENTION_DKDV -> AttentionKernels::backwardKeyValue;
                            default -> throw new AssertionError(op);
        };
    }

    /**
     * A group's graph: every task of every call of the group in order, each with its own argument arrays (sent
     * every execution) and its own grid, on the arenas the other graphs share.
     */
    private TaskGraph buildGroup(Group group, int planIndex) {
        KernelContext c = new KernelContext();
        FloatArray[] m = arenas;
        String name = "group_" + group.name().toLowerCase();
        TaskGraph g = new TaskGraph(name).consumeFromDevice(deviceArrays);
        List<Op> ops = new ArrayList<>();
        for (Call call : group.calls) ops.addAll(List.of(call.tasks(groupGemm)));
        int n = ops.size();
        IntArray[] taskArgs = new IntArray[n];
        FloatArray[] taskFargs = new FloatArray[n];
        WorkerGrid[] taskGrids = new WorkerGrid[n];
        for (int i = 0; i < n; i++) {
            Op op = ops.get(i);
            taskArgs[i] = new IntArray(ARGS);
            taskFargs[i] = new FloatArray(FARGS);
            g.transferToDevice(DataTransferMode.EVERY_EXECUTION, taskArgs[i])
                    .transferToDevice(FLOAT_ARG_OPS.contains(op) ? DataTransferMode.EVERY_EXECUTION
                            : DataTransferMode.FIRST_EXECUTION, taskFargs[i])
                    .task("t" + i, kernel(op), c, m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], imem, taskArgs[i], taskFargs[i]);
            taskGrids[i] = op == Op.GEMM || op == Op.GEMM128 ? new WorkerGrid3D(1, 1, 1) : new WorkerGrid1D(1);
            scheduler.addWorkerGrid(name + ".t" + i, taskGrids[i]);
        }
        g.persistOnDevice(deviceArrays);
        groupGraphs.put(group, new GroupGraph(planIndex, ops.toArray(new Op[0]), taskArgs, taskFargs, taskGrids));
        return g;
    }

    // ---- dispatch ----

    /** The integer arguments of the next launch (kept by it: every call passes a fresh array). */
    private int[] callArgs = new int[0];
    /** The float arguments of the next launch, for the kernels that read them. */
    private float[] callFargs = new float[0];

    private void args(int... values) {
        if (values.length > ArenaMemory.ARENA) throw new IllegalArgumentException(values.length + " kernel arguments");
        callArgs = values;
    }

    /**
     * The arenas of the next launch's float operands: operand {@code k} is the tensor whose offset (plus a
     * position inside it) the launch's argument {@code k} holds; its arena goes to argument {@code ARENA + k}.
     */
    private void arenas(Tensor... operands) {
        int[] all = Arrays.copyOf(callArgs, ArenaMemory.ARENA + operands.length);
        for (int k = 0; k < operands.length; k++) {
            TornadoTensor t = (TornadoTensor) operands[k];
            if (all[k] < t.offset() || all[k] > t.offset() + t.size()) {
                throw new IllegalStateException("kernel argument " + k + " (" + all[k] + ") is not inside tensor '"
                        + t.name() + "' [" + t.offset() + ", " + (t.offset() + t.size()) + ")");
            }
            all[ArenaMemory.ARENA + k] = t.arena();
        }
        callArgs = all;
    }

    private void fargs(float... values) {
        callFargs = values;
    }

    private Launch launchOf(Op op, long threads, int local) {
        long global = (threads + local - 1) / local * local;
        return new Launch(op, callArgs, FLOAT_ARG_OPS.contains(op) || op == Op.ADAMW_LIST ? callFargs : null,
                global, 1, 1, local, 1);
    }

    /** Adds a launch of {@code op} over {@code threads} work-items in groups of {@code local} to the current call. */
    private void launch(Op op, long threads, int local) {
        if (threads <= 0) return;
        building.add(launchOf(op, threads, local));
    }

    /** Runs {@code op} over {@code threads} work-items in groups of {@code local} now, after the queued calls. */
    private void launchNow(Op op, long threads, int local) {
        flush();
        if (threads <= 0) return;
        run(launchOf(op, threads, local));
    }

    /** Runs one launch as its own graph. */
    private void run(Launch launch) {
        for (int i = 0; i < launch.args().length; i++) args.set(i, launch.args()[i]);
        if (launch.fargs() != null) for (int i = 0; i < launch.fargs().length; i++) fargs.set(i, launch.fargs()[i]);
        WorkerGrid grid = grids.get(launch.op());
        grid.setGlobalWork(launch.globalX(), launch.globalY(), launch.globalZ());
        grid.setLocalWork(launch.localX(), launch.localY(), 1);
        execute(launch.op().ordinal());
    }

    private void execute(int planIndex) {
        if (closed) throw new IllegalStateException("TornadoVM backend is closed");
        // withGraph re-applies the plan's grid scheduler (registered by the first execution in the constructor)
        // to the selected graph, so the per-call withGridScheduler and its registration checks are not needed.
        plan.withGraph(planIndex).execute();
        executions++;
    }

    /**
     * Ends a backend call: queues its launches, then runs the queue if it now spells out a whole group that no
     * longer group begins with, or, if it begins no group any more, runs what came before and queues the call anew.
     */
    private void endCall(Call call) {
        Queued queued = new Queued(call, List.copyOf(building));
        building.clear();
        queue.add(queued);
        if (!beginsGroup(queue)) {
            queue.removeLast();
            flush();
            queue.add(queued);
            if (!beginsGroup(queue)) {
                flush();
                return;
            }
        }
        for (Group group : Group.values()) {
            if (group.calls.length == queue.size() && startsWith(queue, group)) {
                boolean longer = false;
                for (Group other : Group.values()) longer |= other.calls.length > queue.size() && startsWith(queue, other);
                if (!longer) flush();
                return;
            }
        }
    }

    /** Whether the queued calls are the first calls of some group. */
    private static boolean beginsGroup(List<Queued> calls) {
        for (Group group : Group.values()) {
            if (group.calls.length < calls.size()) continue;
            boolean prefix = true;
            for (int i = 0; i < calls.size() && prefix; i++) prefix = calls.get(i).call() == group.calls[i];
            if (prefix) return true;
        }
        return false;
    }

    /** Whether {@code calls} starts with the whole of {@code group}. */
    private static boolean startsWith(List<Queued> calls, Group group) {
        if (calls.size() < group.calls.length) return false;
        for (int i = 0; i < group.calls.length; i++) if (calls.get(i).call() != group.calls[i]) return false;
        return true;
    }

    /** Runs every queued call: the longest group the queue starts with as one execution, else one call alone. */
    private void flush() {
        while (!queue.isEmpty()) {
            Group longest = null;
            for (Group group : Group.values()) {
                if (startsWith(queue, group) && (longest == null || group.calls.length > longest.calls.length)) longest = group;
            }
            List<Queued> first = queue.subList(0, longest == null ? 1 : longest.calls.length);
            if (longest == null || !runGroup(longest, first)) for (Queued q : first) for (Launch l : q.launches()) run(l);
            first.clear();
        }
    }

    /**
     * Runs {@code calls} as {@code group}'s graph; false (nothing ran) when their launches do not fit its tasks
     * (a matmul with the other GEMM kernel, an empty call).
     */
    private boolean runGroup(Group group, List<Queued> calls) {
        GroupGraph graph = groupGraphs.get(group);
        int task = 0;
        for (Queued q : calls) {
            List<Launch> launches = q.launches();
            int next = 0;
            for (Op op : q.call().tasks(groupGemm)) {
                Launch l = next < launches.size() ? launches.get(next) : null;
                IntArray a = graph.args()[task];
                WorkerGrid grid = graph.grids()[task];
                if (l != null && l.op() == op) {
                    for (int i = 0; i < l.args().length; i++) a.set(i, l.args()[i]);
                    if (l.fargs() != null) for (int i = 0; i < l.fargs().length; i++) graph.fargs()[task].set(i, l.fargs()[i]);
                    grid.setGlobalWork(l.globalX(), l.globalY(), l.globalZ());
                    grid.setLocalWork(l.localX(), l.localY(), 1);
                    next++;
                } else if (op == Op.GEMM_REDUCE) {
                    // An unsplit GEMM: its reduction slot gets M = N = 0 and does nothing.
                    for (int i = 0; i < ARGS; i++) a.set(i, 0);
                    grid.setGlobalWork(1, 1, 1);
                    grid.setLocalWork(1, 1, 1);
                } else {
                    return false;
                }
                task++;
            }
            if (next != launches.size()) return false;
        }
        execute(graph.planIndex());
        return true;
    }

    private static int at(Tensor t) {
        return ((TornadoTensor) t).offset();
    }

    private static int ati(IntTensor t) {
        return ((TornadoIntTensor) t).offset();
    }

    private static void check(Tensor t, int offset, int length, String what) {
        if (offset < 0 || length < 0 || (long) offset + length > t.size()) {
            throw new IndexOutOfBoundsException(what + ": range [" + offset + ", " + ((long) offset + length)
                    + ") is outside tensor '" + t.name() + "' of " + t.size() + " elements");
        }
    }

    /** A backend-internal float buffer of at least {@code size} elements (partial sums, attention's D). */
    private TornadoTensor scratch(int size) {
        if (scratch == null || scratch.size() < size) {
            if (scratch != null) free(scratch);
            scratch = (TornadoTensor) allocate("tornado.scratch", Math.max(size, 1 << 16));
        }
        return scratch;
    }

    // ---- identity ----

    @Override
    public String name() {
        return "tornado";
    }

    /**
     * The whole micro-batch at once, up to 8192 rows: the LM head's backward-input product reduces over the
     * vocabulary, so only many rows give the GPU enough work-groups (256 rows used 6 of 132 SMs on an H200).
     */
    @Override
    public int logitChunkRows() {
        return LOGIT_CHUNK_ROWS;
    }

    @Override
    public long executions() {
        return executions;
    }

    @Override
    public String device() {
        return device.getPhysicalDevice().getDeviceName() + " (TornadoVM " + device.getTornadoVMBackend() + ", "
                + floats.count() + (floats.count() == 1 ? " arena" : " arenas") + " of " + (floats.capacity(0) >> 18)
                + " MiB, gemm " + gemm.tile + ", split-K " + (splitK ? "on" : "off") + ")";
    }

    /** The float arenas and the int arena, all allocated on the device when the backend starts. */
    @Override
    public long deviceBytesReserved() {
        return 4 * (floats.capacity() + ints.capacity());
    }

    @Override
    public long deviceBytesInUse() {
        return 4 * (floats.used() + ints.used());
    }

    /** How many float arenas the device memory is split into. */
    int arenaCount() {
        return floats.count();
    }

    /** How many arenas, from the first, have held a tensor. */
    int arenasReached() {
        return floats.reached();
    }

    // ---- memory ----

    @Override
    public Tensor allocate(String name, int size) {
        if (size < 0) throw new IllegalArgumentException("tensor '" + name + "' has negative size " + size);
        ArenaSet.Slot slot = floats.allocate(name, size);
        TornadoTensor t = new TornadoTensor(name, slot.arena(), slot.offset(), size, this);
        // Now rather than queued: allocation may come in the middle of another call's launches (scratch buffers).
        args(t.offset(), size);
        arenas(t);
        launchNow(Op.ZERO, size, LOCAL);
        return t;
    }

    @Override
    public IntTensor allocateInts(String name, int size) {
        if (size < 0) throw new IllegalArgumentException("int tensor '" + name + "' has negative size " + size);
        return new TornadoIntTensor(name, ints.allocate(name, size), size, new int[size]);
    }

    @Override
    public void free(Tensor tensor) {
        TornadoTensor t = (TornadoTensor) tensor;
        if (t.owner() != this) throw new IllegalArgumentException("tensor '" + t.name() + "' belongs to another backend");
        floats.free(new ArenaSet.Slot(t.arena(), t.offset()), t.size());
    }

    @Override
    public void write(Tensor dst, int dstOffset, float[] src, int srcOffset, int length) {
        check(dst, dstOffset, length, "write");
        new StagedList(List.of(dst), new int[] {dstOffset}, new int[] {length}, new int[] {srcOffset}).transfer(true, src);
    }

    @Override
    public void read(Tensor src, int srcOffset, float[] dst, int dstOffset, int length) {
        check(src, srcOffset, length, "read");
        new StagedList(List.of(src), new int[] {srcOffset}, new int[] {length}, new int[] {dstOffset}).transfer(false, dst);
    }

    @Override
    public void writeInts(IntTensor dst, int[] src, int length) {
        TornadoIntTensor t = (TornadoIntTensor) dst;
        if (length < 0 || length > t.size()) {
            throw new IndexOutOfBoundsException("writeInts: " + length + " ints into '" + t.name() + "' of " + t.size());
        }
        System.arraycopy(src, 0, t.host(), 0, length);
        for (int done = 0; done < length; ) {
            int n = Math.min(length - done, INT_STAGE);
            MemorySegment.copy(src, done, intStage.getSegment(), ValueLayout.JAVA_INT, 0, n);
            args(t.offset() + done, n);
            launchNow(Op.WRITE_INTS, n, LOCAL);
            done += n;
        }
    }

    @Override
    public void zero(Tensor tensor) {
        args(at(tensor), tensor.size());
        arenas(tensor);
        launch(Op.ZERO, tensor.size(), LOCAL);
        endCall(Call.ZERO);
    }

    @Override
    public void copy(Tensor dst, int dstOffset, Tensor src, int srcOffset, int length) {
        check(dst, dstOffset, length, "copy destination");
        check(src, srcOffset, length, "copy source");
        args(at(dst) + dstOffset, at(src) + srcOffset, length);
        arenas(dst, src);
        launch(Op.COPY, length, LOCAL);
        endCall(Call.COPY);
    }

    // ---- matmul: one strided GEMM, C[M,N] (+)= A(m,k) B(k,n) ----

    private void gemm(Tensor c, Tensor a, Tensor b, int m, int n, int k,
                      int aRs, int aCs, int bRs, int bCs, int ldc, boolean accumulate) {
        if (m == 0 || n == 0) return;
        SplitKPlan split = splitPlan(m, n, k);
        TornadoTensor partials = split.slices() > 1 ? splitKPartials(split.slices() * m * n) : null;
        if (partials == null) {
            args(at(c), at(a), at(b), m, n, k, aRs, aCs, bRs, bCs, ldc, accumulate ? 1 : 0, k, 0);
            arenas(c, a, b);
            launchGemm(m, n, 1);
        } else {
            // Slice z writes its own M x N block of the partials (overwriting); the reduction adds them into C.
            args(partials.offset(), at(a), at(b), m, n, k, aRs, aCs, bRs, bCs, n, 0, split.kSlice(), m * n);
            arenas(partials, a, b);
            launchGemm(m, n, split.slices());
            args(at(c), partials.offset(), m, n, ldc, split.slices(), accumulate ? 1 : 0);
            arenas(c, partials);
            launch(Op.GEMM_REDUCE, (long) m * n, LOCAL);
        }
        endCall(Call.MATMUL);
    }

    private void launchGemm(int m, int n, int slices) {
        int tile = gemm.tile, threads = gemm.threads;
        building.add(new Launch(gemm.op, callArgs, null, (long) (n + tile - 1) / tile * threads,
                (long) (m + tile - 1) / tile * threads, slices, threads, threads));
    }

    private SplitKPlan splitPlan(int m, int n, int k) {
        return splitK ? SplitKPlan.of(m, n, k, gemm.tile, MatmulKernel128.SLICE) : new SplitKPlan(1, k);
    }

    /**
     * The partials buffer, grown to {@code size}; null (the GEMM then runs unsplit) when the arena has no room,
     * since split-K only buys speed and must not end a run that fits without it.
     */
    private TornadoTensor splitKPartials(int size) {
        if (splitKPartials != null && splitKPartials.size() >= size) return splitKPartials;
        if (size >= splitKRefused) return null;
        if (splitKPartials != null) {
            free(splitKPartials);
            splitKPartials = null;
        }
        try {
            splitKPartials = (TornadoTensor) allocate("tornado.splitk_partials", size);
        } catch (IllegalStateException full) {
            splitKRefused = size;
            System.err.println("TornadoVM backend: no room for " + size + " split-K partials, running that GEMM"
                    + " unsplit: " + full.getMessage());
        }
        return splitKPartials;
    }

    /** K slices the matmuls would use for {@code C[m,n] = A[m,k] B[k,n]} now (1: unsplit); the parity checks report it. */
    public int splitKSlices(int m, int n, int k) {
        return splitPlan(m, n, k).slices();
    }

    /** Whether GEMMs with few tiles are split along K. */
    public boolean splitK() {
        return splitK;
    }

    /** Turns split-K on or off (the parity checks compare both). */
    public void splitK(boolean on) {
        this.splitK = on;
    }

    /** The GEMM kernel the matmuls use. */
    public Gemm gemm() {
        return gemm;
    }

    /** Switches the matmuls to another GEMM kernel (the parity checks compare every one). */
    public void gemm(Gemm kernel) {
        this.gemm = kernel;
    }

    @Override
    public void matmul(Tensor out, Tensor x, Tensor w, int rows, int in, int outDim) {
        gemm(out, x, w, rows, outDim, in, in, 1, 1, in, outDim, false);
    }

    @Override
    public void matmulBackwardInput(Tensor dx, Tensor dout, Tensor w, int rows, int in, int outDim, boolean accumulate) {
        gemm(dx, dout, w, rows, in, outDim, outDim, 1, in, 1, in, accumulate);
    }

    @Override
    public void matmulBackwardWeight(Tensor dw, Tensor dout, Tensor x, int rows, int in, int outDim) {
        gemm(dw, dout, x, outDim, in, rows, 1, outDim, in, 1, in, true);
    }

    // ---- normalisation, position, activation ----

    @Override
    public void rmsnorm(Tensor out, Tensor rstd, Tensor x, Tensor gain, int rows, int dim, float eps) {
        args(at(out), at(rstd), at(x), at(gain), rows, dim);
        arenas(out, rstd, x, gain);
        fargs(eps);
        launch(Op.RMSNORM, (long) rows * Kernels.ROW_GROUP, Kernels.ROW_GROUP);
        endCall(Call.RMSNORM);
    }

    @Override
    public void rmsnormBackward(Tensor dx, Tensor dgain, Tensor dout, Tensor x, Tensor gain, Tensor rstd, int rows, int dim) {
        int chunks = (rows + GAIN_CHUNK_ROWS - 1) / GAIN_CHUNK_ROWS;
        TornadoTensor partial = scratch(chunks * dim);
        args(at(dx), at(dout), at(x), at(gain), at(rstd), dim);
        arenas(dx, dout, x, gain, rstd);
        launch(Op.RMSNORM_BACKWARD_INPUT, (long) rows * Kernels.ROW_GROUP, Kernels.ROW_GROUP);
        args(partial.offset(), at(dout), at(x), at(rstd), rows, dim, GAIN_CHUNK_ROWS, chunks);
        arenas(partial, dout, x, rstd);
        launch(Op.GAIN_PARTIAL, (long) chunks * dim, LOCAL);
        args(at(dgain), partial.offset(), dim, chunks);
        arenas(dgain, partial);
        launch(Op.COLUMN_SUM_ADD, dim, LOCAL);
        endCall(Call.RMSNORM_BACKWARD);
    }

    @Override
    public void rope(Tensor x, Tensor table, int rows, int seqLen, int heads, int headDim, boolean inverse) {
        args(at(x), at(table), rows, seqLen, heads, headDim, inverse ? 1 : 0);
        arenas(x, table);
        launch(Op.ROPE, (long) rows * heads * (headDim / 2), LOCAL);
        endCall(Call.ROPE);
    }

    @Override
    public void swiglu(Tensor out, Tensor gate, Tensor up, int n) {
        args(at(out), at(gate), at(up), n);
        arenas(out, gate, up);
        launch(Op.SWIGLU, n, LOCAL);
        endCall(Call.SWIGLU);
    }

    @Override
    public void swigluBackward(Tensor dgate, Tensor dup, Tensor dout, Tensor gate, Tensor up, int n) {
        args(at(dgate), at(dup), at(dout), at(gate), at(up), n);
        arenas(dgate, dup, dout, gate, up);
        launch(Op.SWIGLU_BACKWARD, n, LOCAL);
        endCall(Call.SWIGLU_BACKWARD);
    }

    // ---- attention ----

    /** The attention kernels' work-group size for these heads (see {@link AttentionKernels#block}). */
    private static int attentionBlock(int heads, int kvHeads, int headDim) {
        if (headDim < 1 || headDim > AttentionKernels.HD_MAX || kvHeads < 1 || heads % kvHeads != 0) {
            throw new UnsupportedOperationException("TornadoVM attention supports head_dim 1.."
                    + AttentionKernels.HD_MAX + " with heads a multiple of kv_heads; got head_dim " + headDim
                    + ", heads " + heads + ", kv_heads " + kvHeads);
        }
        return AttentionKernels.block(headDim);
    }

    @Override
    public void attention(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v,
                          int batch, int seqLen, int heads, int kvHeads, int headDim) {
        int block = attentionBlock(heads, kvHeads, headDim);
        args(at(out), at(lse), at(q), at(k), at(v), batch, seqLen, heads, kvHeads, headDim);
        arenas(out, lse, q, k, v);
        fargs((float) (1.0 / Math.sqrt(headDim)));
        int blocks = (seqLen + block - 1) / block;
        launch(Op.ATTENTION, (long) batch * heads * blocks * AttentionKernels.THREADS, AttentionKernels.THREADS);
        endCall(Call.ATTENTION);
    }

    @Override
    public void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor out, Tensor lse,
                                  Tensor q, Tensor k, Tensor v,
                                  int batch, int seqLen, int heads, int kvHeads, int headDim) {
        int block = attentionBlock(heads, kvHeads, headDim);
        int queries = batch * heads * seqLen;
        TornadoTensor d = scratch(queries);
        args(d.offset(), at(dout), at(out), queries, seqLen, heads, headDim);
        arenas(d, dout, out);
        launch(Op.ATTENTION_D, queries, LOCAL);
        float scale = (float) (1.0 / Math.sqrt(headDim));
        int blocks = (seqLen + block - 1) / block;
        args(at(dq), at(dout), at(lse), d.offset(), at(q), at(k), at(v), batch, seqLen, heads, kvHeads, headDim);
        arenas(dq, dout, lse, d, q, k, v);
        fargs(scale);
        launch(Op.ATTENTION_DQ, (long) batch * heads * blocks * AttentionKernels.THREADS,
                AttentionKernels.THREADS);
        args(at(dk), at(dv), at(dout), at(lse), d.offset(), at(q), at(k), at(v), batch, seqLen, heads, kvHeads, headDim);
        arenas(dk, dv, dout, lse, d, q, k, v);
        fargs(scale);
        launch(Op.ATTENTION_DKDV, (long) batch * kvHeads * blocks * AttentionKernels.THREADS,
                AttentionKernels.THREADS);
        endCall(Call.ATTENTION_BACKWARD);
    }

    // ---- embedding and loss ----

    @Override
    public void embedding(Tensor out, Tensor table, IntTensor tokens, int rows, int dim) {
        int vocab = table.size() / dim;
        int[] ids = ((TornadoIntTensor) tokens).host();
        for (int row = 0; row < rows; row++) {
            if (ids[row] < 0 || ids[row] >= vocab) {
                throw new IllegalArgumentException("token id " + ids[row] + " at row " + row
                        + " is outside the vocabulary of " + vocab);
            }
        }
        args(at(out), at(table), ati(tokens), rows, dim);
        arenas(out, table);
        launch(Op.EMBEDDING, (long) rows * dim, LOCAL);
        endCall(Call.EMBEDDING);
    }

    /**
     * Groups the rows by token on the host (the ids are there already), so that on the device each (token,
     * column) has a single writer that adds its rows in order: deterministic, no atomics.
     */
    @Override
    public void embeddingBackward(Tensor dtable, Tensor dout, IntTensor tokens, int rows, int dim) {
        int[] ids = ((TornadoIntTensor) tokens).host();
        Integer[] order = new Integer[rows];
        for (int r = 0; r < rows; r++) order[r] = r;
        Arrays.sort(order, (x, y) -> ids[x] != ids[y] ? Integer.compare(ids[x], ids[y]) : Integer.compare(x, y));
        int[] groups = new int[2 * rows + 1 + rows];
        int distinct = 0;
        for (int p = 0; p < rows; p++) {
            if (p == 0 || ids[order[p]] != ids[order[p - 1]]) {
                groups[distinct] = ids[order[p]];
                groups[rows + distinct] = p;
                distinct++;
            }
            groups[2 * rows + 1 + p] = order[p];
        }
        groups[rows + distinct] = rows;
        if (tokenGroups == null || tokenGroups.size() < groups.length) {
            if (tokenGroups != null) ints.free(tokenGroups.offset(), tokenGroups.size());
            tokenGroups = (TornadoIntTensor) allocateInts("tornado.token_groups", groups.length);
        }
        writeInts(tokenGroups, groups, groups.length);
        int base = tokenGroups.offset();
        args(at(dtable), at(dout), base, base + rows, base + 2 * rows + 1, distinct, dim);
        arenas(dtable, dout);
        launch(Op.EMBEDDING_BACKWARD, (long) distinct * dim, LOCAL);
        endCall(Call.EMBEDDING_BACKWARD);
    }

    @Override
    public void crossEntropy(Tensor losses, int lossOffset, Tensor logits, IntTensor targets, int targetOffset,
                             int rows, int vocab, float gradScale) {
        int[] ys = ((TornadoIntTensor) targets).host();
        for (int r = 0; r < rows; r++) {
            if (ys[targetOffset + r] >= vocab) {
                throw new IllegalArgumentException("target id " + ys[targetOffset + r] + " is outside the vocabulary of " + vocab);
            }
        }
        check(losses, lossOffset, rows, "crossEntropy losses");
        args(at(losses) + lossOffset, at(logits), ati(targets) + targetOffset, rows, vocab);
        arenas(losses, logits);
        fargs(gradScale);
        launch(Op.CROSS_ENTROPY, (long) rows * Kernels.ROW_GROUP, Kernels.ROW_GROUP);
        endCall(Call.CROSS_ENTROPY);
    }

    // ---- elementwise, reductions, optimizer ----

    @Override
    public void add(Tensor dst, Tensor src, int n) {
        args(at(dst), at(src), n);
        arenas(dst, src);
        launch(Op.ADD, n, LOCAL);
        endCall(Call.ADD);
    }

    @Override
    public void scale(Tensor t, float factor) {
        args(at(t), t.size());
        arenas(t);
        fargs(factor);
        launch(Op.SCALE, t.size(), LOCAL);
        endCall(Call.SCALE);
    }

    private double reduce(Tensor t, int n, boolean squares) {
        check(t, 0, n, "sum");
        if (n == 0) return 0;
        int groups = (int) Math.min(REDUCE_GROUPS, (n + Kernels.REDUCE_GROUP * 8L - 1) / (Kernels.REDUCE_GROUP * 8L));
        args(at(t), n, squares ? 1 : 0);
        arenas(t);
        launchNow(Op.REDUCE, (long) groups * Kernels.REDUCE_GROUP, Kernels.REDUCE_GROUP);
        double total = 0;
        for (int g = 0; g < groups; g++) total += partials.get(g);
        return total;
    }

    @Override
    public double sum(Tensor t, int n) {
        return reduce(t, n, false);
    }

    @Override
    public double sumOfSquares(Tensor t) {
        return reduce(t, t.size(), true);
    }

    @Override
    public void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step) {
        args(at(param), at(grad), at(m), at(v), param.size());
        arenas(param, grad, m, v);
        fargs(step.lr(), step.beta1(), step.beta2(), step.eps(), 1f - step.lr() * step.weightDecay(),
                step.biasCorrection1(), (float) Math.sqrt(step.biasCorrection2()), step.gradScale());
        launch(Op.ADAMW, param.size(), LOCAL);
        endCall(Call.ADAMW);
    }

    // ---- multi-tensor: one launch over many tensors ----

    /**
     * Fills {@link #tensorTable} with {@code operands[0]}'s tensors (running element counts) and every operand's
     * offsets and arenas (the layout {@link Kernels#offset} and {@link Kernels#arena} read), and returns their
     * total element count. Operand k's tensor t must have the size of operand 0's.
     */
    @SafeVarargs
    private int tensorTable(List<Tensor>... operands) {
        int tensors = operands[0].size();
        long total = 0;
        for (int t = 0; t < tensors; t++) {
            tensorTable.set(t, (int) total);
            Tensor first = operands[0].get(t);
            for (int k = 0; k < operands.length; k++) {
                Tensor operand = operands[k].get(t);
                if (operand.size() != first.size()) {
                    throw new IllegalArgumentException("tensor '" + operand.name() + "' has " + operand.size()
                            + " elements where '" + first.name() + "' has " + first.size());
                }
                tensorTable.set(tensors + 1 + 2 * k * tensors + t, at(operand));
                tensorTable.set(tensors + 1 + (2 * k + 1) * tensors + t, ((TornadoTensor) operand).arena());
            }
            total += first.size();
        }
        if (total > Integer.MAX_VALUE) throw new IllegalArgumentException("tensor list of " + total + " elements");
        tensorTable.set(tensors, (int) total);
        return (int) total;
    }

    @Override
    public void zero(List<Tensor> tensors) {
        for (int from = 0; from < tensors.size(); from += LIST_TENSORS) {
            List<Tensor> part = tensors.subList(from, Math.min(tensors.size(), from + LIST_TENSORS));
            int total = tensorTable(part);
            args(part.size());
            launchNow(Op.ZERO_LIST, total, LOCAL);
        }
    }

    @Override
    public double sumOfSquares(List<Tensor> tensors) {
        double squares = 0;
        for (int from = 0; from < tensors.size(); from += LIST_TENSORS) {
            List<Tensor> part = tensors.subList(from, Math.min(tensors.size(), from + LIST_TENSORS));
            tensorTable(part);
            args(part.size(), LIST_GROUPS_PER_TENSOR);
            launchNow(Op.SUM_SQUARES_LIST, (long) part.size() * LIST_GROUPS_PER_TENSOR * Kernels.REDUCE_GROUP,
                    Kernels.REDUCE_GROUP);
            for (int t = 0; t < part.size(); t++) {
                double tensor = 0;
                for (int g = 0; g < LIST_GROUPS_PER_TENSOR; g++) tensor += listPartials.get(t * LIST_GROUPS_PER_TENSOR + g);
                squares += tensor;
            }
        }
        return squares;
    }

    /**
     * Gathers the ranges into the staging buffer, one after another, and runs one execution per stage-full (or per
     * {@link #LIST_TENSORS} pieces, a piece being a range or the part of one that fits the stage), then copies each
     * piece to its place in {@code dst}.
     */
    @Override
    public void read(List<Tensor> sources, int[] srcOffsets, int[] lengths, float[] dst, int[] dstOffsets) {
        Backend.checkListRanges("read", sources, srcOffsets, lengths, dst, dstOffsets);
        new StagedList(sources, srcOffsets, lengths, dstOffsets).transfer(false, dst);
    }

    /**
     * Copies the host ranges into the staging buffer, one after another, and scatters each stage-full into the
     * tensors in one execution (the transfer of a list read, the other way).
     */
    @Override
    public void write(List<Tensor> targets, int[] dstOffsets, int[] lengths, float[] src, int[] srcOffsets) {
        Backend.checkListRanges("write", targets, dstOffsets, lengths, src, srcOffsets);
        new StagedList(targets, dstOffsets, lengths, srcOffsets).transfer(true, src);
    }

    /**
     * A list transfer cut into pieces that fill the large stage: piece {@code p} is stage range {@code [start[p],
     * start[p + 1])}, tensor range from {@code tensorAt[p]} in arena {@code arena[p]}, host range from {@code hostAt[p]}.
     */
    private final class StagedList {
        private final List<Tensor> tensors;
        private final int[] tensorOffsets, lengths, hostOffsets;
        private final int[] start = new int[LIST_TENSORS + 1], tensorAt = new int[LIST_TENSORS],
                arena = new int[LIST_TENSORS], hostAt = new int[LIST_TENSORS];
        private int pieces, filled;

        StagedList(List<Tensor> tensors, int[] tensorOffsets, int[] lengths, int[] hostOffsets) {
            this.tensors = tensors;
            this.tensorOffsets = tensorOffsets;
            this.lengths = lengths;
            this.hostOffsets = hostOffsets;
        }

        void transfer(boolean toDevice, float[] host) {
            for (int i = 0; i < tensors.size(); i++) {
                for (int done = 0; done < lengths[i]; ) {
                    int n = Math.min(lengths[i] - done, LARGE_STAGE - filled);
                    start[pieces] = filled;
                    tensorAt[pieces] = at(tensors.get(i)) + tensorOffsets[i] + done;
                    arena[pieces] = ((TornadoTensor) tensors.get(i)).arena();
                    hostAt[pieces] = hostOffsets[i] + done;
                    pieces++;
                    filled += n;
                    done += n;
                    if (filled == LARGE_STAGE || pieces == LIST_TENSORS) stage(toDevice, host);
                }
            }
            if (pieces > 0) stage(toDevice, host);
        }

        /** One execution of {@link Kernels#gatherList} or {@link Kernels#scatterList} over the pieces so far. */
        private void stage(boolean toDevice, float[] host) {
            start[pieces] = filled;
            // The table's layout for one operand, as tensorTable writes it: starts, then offsets, then arenas.
            for (int p = 0; p <= pieces; p++) tensorTable.set(p, start[p]);
            for (int p = 0; p < pieces; p++) {
                tensorTable.set(pieces + 1 + p, tensorAt[p]);
                tensorTable.set(pieces + 1 + pieces + p, arena[p]);
            }
            boolean small = filled <= SMALL_STAGE;
            MemorySegment stage = (small ? smallStage : largeStage).getSegment();
            if (toDevice) {
                for (int p = 0; p < pieces; p++) {
                    MemorySegment.copy(host, hostAt[p], stage, ValueLayout.JAVA_FLOAT, 4L * start[p], start[p + 1] - start[p]);
                }
            }
            args(pieces);
            launchNow(toDevice ? (small ? Op.WRITE_SMALL : Op.WRITE_LARGE)
                    : (small ? Op.READ_SMALL : Op.READ_LARGE), filled, LOCAL);
            if (!toDevice) {
                for (int p = 0; p < pieces; p++) {
                    MemorySegment.copy(stage, ValueLayout.JAVA_FLOAT, 4L * start[p], host, hostAt[p], start[p + 1] - start[p]);
                }
            }
            pieces = 0;
            filled = 0;
        }
    }

    /** One launch when the steps differ only in weight decay (AdamW's matrices and vectors); else one per tensor. */
    @Override
    public void adamw(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v, List<AdamWStep> steps) {
        AdamWStep first = steps.isEmpty() ? null : steps.getFirst();
        for (AdamWStep step : steps) {
            if (step.lr() != first.lr() || step.beta1() != first.beta1() || step.beta2() != first.beta2()
                    || step.eps() != first.eps() || step.step() != first.step() || step.gradScale() != first.gradScale()) {
                Backend.super.adamw(params, grads, m, v, steps);
                return;
            }
        }
        for (int from = 0; from < params.size(); from += LIST_TENSORS) {
            int to = Math.min(params.size(), from + LIST_TENSORS);
            int total = tensorTable(params.subList(from, to), grads.subList(from, to), m.subList(from, to),
                    v.subList(from, to));
            for (int t = from; t < to; t++) tensorDecay.set(t - from, 1f - steps.get(t).lr() * steps.get(t).weightDecay());
            args(to - from);
            fargs(first.lr(), first.beta1(), first.beta2(), first.eps(), 0f, first.biasCorrection1(),
                    (float) Math.sqrt(first.biasCorrection2()), first.gradScale());
            launchNow(Op.ADAMW_LIST, total, LOCAL);
        }
    }

    @Override
    public void close() {
        if (closed) return;
        flush();
        closed = true;
        try {
            plan.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing the TornadoVM execution plan failed", e);
        }
    }
}
