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
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The backend seam on a TornadoVM device. All tensors are ranges of two device-resident arenas (one float, one
 * int array) that are copied to the device once, when the backend starts, and stay there: parameters, gradients,
 * AdamW moments and activations never cross to the host except through {@link #read}/{@link #write} (staged
 * through small buffers) and the scalar reductions.
 *
 * <p>Every kernel is one task graph, built once, in one {@link TornadoExecutionPlan}; each graph consumes the
 * arenas from the graph executed before it and persists them for the next, so the device buffers are shared.
 * Shapes and tensor offsets travel as a small per-call argument array, so each kernel compiles once for every
 * shape. Calls are synchronous and not thread-safe: one backend per training thread.
 */
public final class TornadoBackend implements Backend {
    private static final int SMALL_STAGE = 1 << 14;
    private static final int LARGE_STAGE = 1 << 20;
    private static final int INT_STAGE = 1 << 16;
    private static final int REDUCE_GROUPS = 512;
    private static final int LOCAL = 256;
    private static final int GAIN_CHUNK_ROWS = 64;
    private static final long DEFAULT_MEMORY_MIB = 1024;
    private static final int INT_ARENA = 1 << 22;

    /** The task graphs, in plan order. */
    private enum Op {
        INIT, ZERO, COPY, ADD, SCALE, SWIGLU, SWIGLU_BACKWARD, ROPE, RMSNORM, RMSNORM_BACKWARD_INPUT, GAIN_PARTIAL,
        COLUMN_SUM_ADD, EMBEDDING, EMBEDDING_BACKWARD, CROSS_ENTROPY, ADAMW, GEMM, GEMM128, GEMM_REDUCE, ATTENTION, ATTENTION_D,
        ATTENTION_DQ, ATTENTION_DKDV, WRITE_SMALL, WRITE_LARGE, READ_SMALL, READ_LARGE, WRITE_INTS, REDUCE
    }

    /** The kernels that read {@code fargs}; the others get it once, as an unused parameter. */
    private static final Set<Op> FLOAT_ARG_OPS = EnumSet.of(Op.SCALE, Op.RMSNORM, Op.CROSS_ENTROPY, Op.ADAMW,
            Op.ATTENTION, Op.ATTENTION_DQ, Op.ATTENTION_DKDV);

    private final TornadoDevice device;
    private final FloatArray mem;
    private final IntArray imem;
    private final IntArray args = new IntArray(32);
    private final FloatArray fargs = new FloatArray(8);
    private final FloatArray smallStage = new FloatArray(SMALL_STAGE);
    private final FloatArray largeStage = new FloatArray(LARGE_STAGE);
    private final IntArray intStage = new IntArray(INT_STAGE);
    private final FloatArray partials = new FloatArray(REDUCE_GROUPS);
    private final ArenaAllocator floats;
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
     * @param deviceIndex device of TornadoVM's default backend, or -1 for its default device
     * @param memoryBytes size of the float arena on the device (all tensors of the model live in it)
     */
    public TornadoBackend(int deviceIndex, long memoryBytes) {
        this.device = TornadoDevices.device(deviceIndex);
        long elements = Math.min(memoryBytes / 4, Integer.MAX_VALUE - (1L << 20));
        if (elements < (1 << 20)) throw new IllegalArgumentException("TornadoVM arena of " + memoryBytes + " bytes is too small");
        this.mem = new FloatArray((int) elements);
        this.imem = new IntArray(INT_ARENA);
        this.floats = new ArenaAllocator("float", elements);
        this.ints = new ArenaAllocator("int", INT_ARENA);
        List<ImmutableTaskGraph> graphs = new ArrayList<>();
        for (Op op : Op.values()) graphs.add(build(op).snapshot());
        this.plan = new TornadoExecutionPlan(graphs.toArray(new ImmutableTaskGraph[0]));
        plan.withDevice(device);
        // Copies both arenas to the device once; every later graph consumes them from its predecessor.
        args.init(0);
        grids.get(Op.INIT).setGlobalWork(1, 1, 1);
        grids.get(Op.INIT).setLocalWork(1, 1, 1);
        plan.withGraph(Op.INIT.ordinal()).withGridScheduler(scheduler).execute();
    }

    private TaskGraph build(Op op) {
        KernelContext c = new KernelContext();
        String name = op.name().toLowerCase();
        TaskGraph g = new TaskGraph(name);
        if (op == Op.INIT) {
            g.transferToDevice(DataTransferMode.FIRST_EXECUTION, mem, imem)
                    .transferToDevice(DataTransferMode.EVERY_EXECUTION, args, fargs)
                    .task("t", Kernels::zero, c, mem, imem, args, fargs);
        } else {
            g.consumeFromDevice(mem, imem);
            switch (op) {
                case WRITE_SMALL -> g.transferToDevice(DataTransferMode.EVERY_EXECUTION, args, smallStage)
                        .transferToDevice(DataTransferMode.FIRST_EXECUTION, fargs)
                        .task("t", Kernels::writeFloats, c, mem, imem, args, fargs, smallStage);
                case WRITE_LARGE -> g.transferToDevice(DataTransferMode.EVERY_EXECUTION, args, largeStage)
                        .transferToDevice(DataTransferMode.FIRST_EXECUTION, fargs)
                        .task("t", Kernels::writeFloats, c, mem, imem, args, fargs, largeStage);
                case WRITE_INTS -> g.transferToDevice(DataTransferMode.EVERY_EXECUTION, args, intStage)
                        .transferToDevice(DataTransferMode.FIRST_EXECUTION, fargs)
                        .task("t", Kernels::writeInts, c, mem, imem, args, fargs, intStage);
                case READ_SMALL -> g.transferToDevice(DataTransferMode.EVERY_EXECUTION, args)
                        .transferToDevice(DataTransferMode.FIRST_EXECUTION, fargs)
                        .task("t", Kernels::readFloats, c, mem, imem, args, fargs, smallStage)
                        .transferToHost(DataTransferMode.EVERY_EXECUTION, smallStage);
                case READ_LARGE -> g.transferToDevice(DataTransferMode.EVERY_EXECUTION, args)
                        .transferToDevice(DataTransferMode.FIRST_EXECUTION, fargs)
                        .task("t", Kernels::readFloats, c, mem, imem, args, fargs, largeStage)
                        .transferToHost(DataTransferMode.EVERY_EXECUTION, largeStage);
                case REDUCE -> g.transferToDevice(DataTransferMode.EVERY_EXECUTION, args)
                        .transferToDevice(DataTransferMode.FIRST_EXECUTION, fargs)
                        .task("t", Kernels::reduce, c, mem, imem, args, fargs, partials)
                        .transferToHost(DataTransferMode.EVERY_EXECUTION, partials);
                // Only the kernels that read float arguments re-send them: one host-to-device copy less per call.
                default -> g.transferToDevice(DataTransferMode.EVERY_EXECUTION, args)
                        .transferToDevice(FLOAT_ARG_OPS.contains(op) ? DataTransferMode.EVERY_EXECUTION
                                : DataTransferMode.FIRST_EXECUTION, fargs)
                        .task("t", switch (op) {
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
                        }, c, mem, imem, args, fargs);
            }
        }
        g.persistOnDevice(mem, imem);
        // The GEMMs' third dimension counts K slices (split-K); 1 when the tile grid alone fills the device.
        WorkerGrid grid = op == Op.GEMM || op == Op.GEMM128 ? new WorkerGrid3D(1, 1, 1) : new WorkerGrid1D(1);
        grids.put(op, grid);
        scheduler.addWorkerGrid(name + ".t", grid);
        return g;
    }

    // ---- dispatch ----

    private void args(int... values) {
        for (int i = 0; i < values.length; i++) args.set(i, values[i]);
    }

    private void fargs(float... values) {
        for (int i = 0; i < values.length; i++) fargs.set(i, values[i]);
    }

    /** Runs {@code op} over {@code threads} work-items in groups of {@code local}. */
    private void launch(Op op, long threads, int local) {
        if (threads <= 0) return;
        long global = (threads + local - 1) / local * local;
        WorkerGrid grid = grids.get(op);
        grid.setGlobalWork(global, 1, 1);
        grid.setLocalWork(local, 1, 1);
        execute(op);
    }

    private void execute(Op op) {
        if (closed) throw new IllegalStateException("TornadoVM backend is closed");
        // withGraph re-applies the plan's grid scheduler (registered by the first execution in the constructor)
        // to the selected graph, so the per-call withGridScheduler and its registration checks are not needed.
        plan.withGraph(op.ordinal()).execute();
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
    public String device() {
        return device.getPhysicalDevice().getDeviceName() + " (TornadoVM " + device.getTornadoVMBackend()
                + ", arena " + (floats.capacity() >> 18) + " MiB, gemm " + gemm.tile + ", split-K " + (splitK ? "on" : "off") + ")";
    }

    // ---- memory ----

    @Override
    public Tensor allocate(String name, int size) {
        if (size < 0) throw new IllegalArgumentException("tensor '" + name + "' has negative size " + size);
        TornadoTensor t = new TornadoTensor(name, floats.allocate(name, size), size, this);
        zero(t);
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
        floats.free(t.offset(), t.size());
    }

    @Override
    public void write(Tensor dst, int dstOffset, float[] src, int srcOffset, int length) {
        check(dst, dstOffset, length, "write");
        for (int done = 0; done < length; ) {
            int n = Math.min(length - done, LARGE_STAGE);
            boolean small = n <= SMALL_STAGE;
            FloatArray stage = small ? smallStage : largeStage;
            MemorySegment.copy(src, srcOffset + done, stage.getSegment(), ValueLayout.JAVA_FLOAT, 0, n);
            args(at(dst) + dstOffset + done, n);
            launch(small ? Op.WRITE_SMALL : Op.WRITE_LARGE, n, LOCAL);
            done += n;
        }
    }

    @Override
    public void read(Tensor src, int srcOffset, float[] dst, int dstOffset, int length) {
        check(src, srcOffset, length, "read");
        for (int done = 0; done < length; ) {
            int n = Math.min(length - done, LARGE_STAGE);
            boolean small = n <= SMALL_STAGE;
            FloatArray stage = small ? smallStage : largeStage;
            args(at(src) + srcOffset + done, n);
            launch(small ? Op.READ_SMALL : Op.READ_LARGE, n, LOCAL);
            MemorySegment.copy(stage.getSegment(), ValueLayout.JAVA_FLOAT, 0, dst, dstOffset + done, n);
            done += n;
        }
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
            launch(Op.WRITE_INTS, n, LOCAL);
            done += n;
        }
    }

    @Override
    public void zero(Tensor tensor) {
        args(at(tensor), tensor.size());
        launch(Op.ZERO, tensor.size(), LOCAL);
    }

    @Override
    public void copy(Tensor dst, int dstOffset, Tensor src, int srcOffset, int length) {
        check(dst, dstOffset, length, "copy destination");
        check(src, srcOffset, length, "copy source");
        args(at(dst) + dstOffset, at(src) + srcOffset, length);
        launch(Op.COPY, length, LOCAL);
    }

    // ---- matmul: one strided GEMM, C[M,N] (+)= A(m,k) B(k,n) ----

    private void gemm(Tensor c, Tensor a, Tensor b, int m, int n, int k,
                      int aRs, int aCs, int bRs, int bCs, int ldc, boolean accumulate) {
        if (m == 0 || n == 0) return;
        SplitKPlan split = splitPlan(m, n, k);
        TornadoTensor partials = split.slices() > 1 ? splitKPartials(split.slices() * m * n) : null;
        if (partials == null) {
            args(at(c), at(a), at(b), m, n, k, aRs, aCs, bRs, bCs, ldc, accumulate ? 1 : 0, k, 0);
            launchGemm(m, n, 1);
            return;
        }
        // Slice z writes its own M x N block of the partials (overwriting); the reduction adds them into C.
        args(partials.offset(), at(a), at(b), m, n, k, aRs, aCs, bRs, bCs, n, 0, split.kSlice(), m * n);
        launchGemm(m, n, split.slices());
        args(at(c), partials.offset(), m, n, ldc, split.slices(), accumulate ? 1 : 0);
        launch(Op.GEMM_REDUCE, (long) m * n, LOCAL);
    }

    private void launchGemm(int m, int n, int slices) {
        WorkerGrid grid = grids.get(gemm.op);
        int tile = gemm.tile, threads = gemm.threads;
        grid.setGlobalWork((long) (n + tile - 1) / tile * threads, (long) (m + tile - 1) / tile * threads, slices);
        grid.setLocalWork(threads, threads, 1);
        execute(gemm.op);
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
        fargs(eps);
        launch(Op.RMSNORM, (long) rows * Kernels.ROW_GROUP, Kernels.ROW_GROUP);
    }

    @Override
    public void rmsnormBackward(Tensor dx, Tensor dgain, Tensor dout, Tensor x, Tensor gain, Tensor rstd, int rows, int dim) {
        args(at(dx), at(dout), at(x), at(gain), at(rstd), dim);
        launch(Op.RMSNORM_BACKWARD_INPUT, (long) rows * Kernels.ROW_GROUP, Kernels.ROW_GROUP);
        int chunks = (rows + GAIN_CHUNK_ROWS - 1) / GAIN_CHUNK_ROWS;
        TornadoTensor partial = scratch(chunks * dim);
        args(partial.offset(), at(dout), at(x), at(rstd), rows, dim, GAIN_CHUNK_ROWS, chunks);
        launch(Op.GAIN_PARTIAL, (long) chunks * dim, LOCAL);
        args(at(dgain), partial.offset(), dim, chunks);
        launch(Op.COLUMN_SUM_ADD, dim, LOCAL);
    }

    @Override
    public void rope(Tensor x, Tensor table, int rows, int seqLen, int heads, int headDim, boolean inverse) {
        args(at(x), at(table), rows, seqLen, heads, headDim, inverse ? 1 : 0);
        launch(Op.ROPE, (long) rows * heads * (headDim / 2), LOCAL);
    }

    @Override
    public void swiglu(Tensor out, Tensor gate, Tensor up, int n) {
        args(at(out), at(gate), at(up), n);
        launch(Op.SWIGLU, n, LOCAL);
    }

    @Override
    public void swigluBackward(Tensor dgate, Tensor dup, Tensor dout, Tensor gate, Tensor up, int n) {
        args(at(dgate), at(dup), at(dout), at(gate), at(up), n);
        launch(Op.SWIGLU_BACKWARD, n, LOCAL);
    }

    // ---- attention ----

    private static void checkAttention(int heads, int kvHeads, int headDim) {
        if (headDim > AttentionKernels.HD_MAX || heads % kvHeads != 0) {
            throw new UnsupportedOperationException("TornadoVM attention supports head_dim <= "
                    + AttentionKernels.HD_MAX + " with heads a multiple of kv_heads; got head_dim " + headDim
                    + ", heads " + heads + ", kv_heads " + kvHeads);
        }
    }

    @Override
    public void attention(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v,
                          int batch, int seqLen, int heads, int kvHeads, int headDim) {
        checkAttention(heads, kvHeads, headDim);
        args(at(out), at(lse), at(q), at(k), at(v), batch, seqLen, heads, kvHeads, headDim);
        fargs((float) (1.0 / Math.sqrt(headDim)));
        int blocks = (seqLen + AttentionKernels.BLOCK - 1) / AttentionKernels.BLOCK;
        launch(Op.ATTENTION, (long) batch * heads * blocks * AttentionKernels.BLOCK, AttentionKernels.BLOCK);
    }

    @Override
    public void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor out, Tensor lse,
                                  Tensor q, Tensor k, Tensor v,
                                  int batch, int seqLen, int heads, int kvHeads, int headDim) {
        checkAttention(heads, kvHeads, headDim);
        int queries = batch * heads * seqLen;
        TornadoTensor d = scratch(queries);
        args(d.offset(), at(dout), at(out), queries, seqLen, heads, headDim);
        launch(Op.ATTENTION_D, queries, LOCAL);
        float scale = (float) (1.0 / Math.sqrt(headDim));
        int blocks = (seqLen + AttentionKernels.BLOCK - 1) / AttentionKernels.BLOCK;
        args(at(dq), at(dout), at(lse), d.offset(), at(q), at(k), at(v), batch, seqLen, heads, kvHeads, headDim);
        fargs(scale);
        launch(Op.ATTENTION_DQ, (long) batch * heads * blocks * AttentionKernels.BLOCK, AttentionKernels.BLOCK);
        args(at(dk), at(dv), at(dout), at(lse), d.offset(), at(q), at(k), at(v), batch, seqLen, heads, kvHeads, headDim);
        fargs(scale);
        launch(Op.ATTENTION_DKDV, (long) batch * kvHeads * blocks * AttentionKernels.BLOCK, AttentionKernels.BLOCK);
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
        launch(Op.EMBEDDING, (long) rows * dim, LOCAL);
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
        launch(Op.EMBEDDING_BACKWARD, (long) distinct * dim, LOCAL);
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
        fargs(gradScale);
        launch(Op.CROSS_ENTROPY, (long) rows * Kernels.ROW_GROUP, Kernels.ROW_GROUP);
    }

    // ---- elementwise, reductions, optimizer ----

    @Override
    public void add(Tensor dst, Tensor src, int n) {
        args(at(dst), at(src), n);
        launch(Op.ADD, n, LOCAL);
    }

    @Override
    public void scale(Tensor t, float factor) {
        args(at(t), t.size());
        fargs(factor);
        launch(Op.SCALE, t.size(), LOCAL);
    }

    private double reduce(Tensor t, int n, boolean squares) {
        check(t, 0, n, "sum");
        if (n == 0) return 0;
        int groups = (int) Math.min(REDUCE_GROUPS, (n + Kernels.REDUCE_GROUP * 8L - 1) / (Kernels.REDUCE_GROUP * 8L));
        args(at(t), n, squares ? 1 : 0);
        launch(Op.REDUCE, (long) groups * Kernels.REDUCE_GROUP, Kernels.REDUCE_GROUP);
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
        fargs(step.lr(), step.beta1(), step.beta2(), step.eps(), 1f - step.lr() * step.weightDecay(),
                step.biasCorrection1(), (float) Math.sqrt(step.biasCorrection2()), step.gradScale());
        launch(Op.ADAMW, param.size(), LOCAL);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            plan.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing the TornadoVM execution plan failed", e);
        }
    }
}
