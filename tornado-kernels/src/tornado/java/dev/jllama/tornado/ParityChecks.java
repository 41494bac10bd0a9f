package dev.jllama.tornado;

import dev.jllama.model.Initializer;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.Parameters;
import dev.jllama.model.backend.AdamWStep;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.IntTensor;
import dev.jllama.model.backend.Tensor;
import dev.jllama.model.optim.AdamW;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Every kernel of a backend against the CPU backend on the same random inputs, with odd sizes, plus one full
 * training step of a model preset. Shared by the JUnit tests and {@link ParityCheck} (which runs them where
 * there is no Maven, e.g. on a GPU machine). Errors are norm-wise relative: {@code |a - b| / |b|}.
 */
public final class ParityChecks {

    /** One compared output. */
    public record Result(String name, double error, double tolerance) {
        public boolean ok() {
            return error <= tolerance;
        }

        @Override
        public String toString() {
            return String.format("%-44s rel.err %.3e (tolerance %.0e) %s", name, error, tolerance, ok() ? "ok" : "FAIL");
        }
    }

    private final Backend test;
    private final Backend ref;
    private final SplittableRandom random = new SplittableRandom(42);
    private final List<Result> results = new ArrayList<>();

    public ParityChecks(Backend test, Backend ref) {
        this.test = test;
        this.ref = ref;
    }

    public List<Result> results() {
        return results;
    }

    /** The same tensor on both backends. */
    private final class Pair {
        final Tensor t, r;
        final int size;

        Pair(String name, int size) {
            this.size = size;
            t = test.allocate(name, size);
            r = ref.allocate(name, size);
        }

        Pair fill(double std) {
            float[] v = new float[size];
            for (int i = 0; i < size; i++) v[i] = (float) (random.nextGaussian() * std);
            test.write(t, 0, v, 0, size);
            ref.write(r, 0, v, 0, size);
            return this;
        }

        Pair fillPositive() {
            float[] v = new float[size];
            for (int i = 0; i < size; i++) v[i] = (float) (0.5 + random.nextDouble());
            test.write(t, 0, v, 0, size);
            ref.write(r, 0, v, 0, size);
            return this;
        }

        void compare(String name, double tolerance) {
            compare(name, tolerance, 0);
        }

        /** Like {@link #compare(String, double)}, but the error is relative to at least {@code normFloor}. */
        void compare(String name, double tolerance, double normFloor) {
            float[] a = new float[size], b = new float[size];
            test.read(t, 0, a, 0, size);
            ref.read(r, 0, b, 0, size);
            results.add(new Result(name, relative(a, b, normFloor), tolerance));
        }

        double referenceNorm() {
            float[] b = new float[size];
            ref.read(r, 0, b, 0, size);
            double norm = 0;
            for (float x : b) norm += (double) x * x;
            return Math.sqrt(norm);
        }

        void free() {
            test.free(t);
            ref.free(r);
        }
    }

    private record IntPair(IntTensor t, IntTensor r) {}

    private IntPair ints(String name, int[] values) {
        IntTensor t = test.allocateInts(name, values.length), r = ref.allocateInts(name, values.length);
        test.writeInts(t, values, values.length);
        ref.writeInts(r, values, values.length);
        return new IntPair(t, r);
    }

    public static double relative(float[] a, float[] b) {
        return relative(a, b, 0);
    }

    /** {@code |a - b| / max(|b|, normFloor)}. */
    public static double relative(float[] a, float[] b, double normFloor) {
        double diff = 0, norm = 0;
        for (int i = 0; i < a.length; i++) {
            double d = (double) a[i] - b[i];
            if (Double.isNaN(d)) return Double.POSITIVE_INFINITY;
            diff += d * d;
            norm += (double) b[i] * b[i];
        }
        double denominator = Math.max(Math.sqrt(norm), normFloor);
        return denominator == 0 ? Math.sqrt(diff) : Math.sqrt(diff) / denominator;
    }

    private void both(Consumer<Backend> op, Pair... unused) {
        op.accept(test);
        op.accept(ref);
    }

    // ---- kernels ----

    public void memory() {
        Pair a = new Pair("a", 20_011).fill(1);
        a.compare("write/read 20011 (two stages)", 0);
        float[] part = new float[37];
        for (int i = 0; i < part.length; i++) part[i] = i - 5.5f;
        test.write(a.t, 1001, part, 3, 30);
        ref.write(a.r, 1001, part, 3, 30);
        float[] x = new float[30], y = new float[30];
        test.read(a.t, 999, x, 0, 30);
        ref.read(a.r, 999, y, 0, 30);
        results.add(new Result("write/read with offsets", relative(x, y), 0));
        Pair b = new Pair("b", 777).fill(1);
        test.copy(b.t, 5, a.t, 300, 700);
        ref.copy(b.r, 5, a.r, 300, 700);
        b.compare("copy with offsets", 0);
        test.add(b.t, a.t, 701);
        ref.add(b.r, a.r, 701);
        b.compare("add", 1e-6);
        test.scale(b.t, -0.37f);
        ref.scale(b.r, -0.37f);
        b.compare("scale", 1e-6);
        double s1 = test.sum(a.t, 19_999), s2 = ref.sum(a.r, 19_999);
        results.add(new Result("sum 19999", Math.abs(s1 - s2) / Math.max(1, Math.abs(s2)), 1e-4));
        double q1 = test.sumOfSquares(a.t), q2 = ref.sumOfSquares(a.r);
        results.add(new Result("sumOfSquares 20011", Math.abs(q1 - q2) / q2, 1e-5));
        test.zero(b.t);
        ref.zero(b.r);
        b.compare("zero", 0);
        a.free();
        b.free();
    }

    /**
     * The three matmul forms at sizes that cross the 64 and 128 tiles and the 16-deep K slices (and M = 1), each
     * with every GEMM kernel of a TornadoVM backend; then shapes whose tile grid is small and K long, which a
     * TornadoVM backend splits along K (the 15M model's weight gradients: 288x288 and 288x768 over 8192 rows, and
     * odd sizes that end K, M and N mid-slice and mid-tile), checked split and unsplit.
     */
    public void matmuls() {
        matmul(37, 70, 45);
        matmul(130, 64, 200);
        matmul(1, 3, 1);
        matmul(257, 144, 300);
        matmul(1, 300, 260);
        matmul(129, 129, 129);
        matmul(8192, 288, 288);
        matmul(2048, 768, 288);
        matmul(37, 3001, 130);
        matmul(37, 130, 3001);
        matmul(3001, 130, 37);
        matmul(1, 1100, 3);
    }

    /**
     * The three matmul forms; on a TornadoVM backend once per GEMM kernel, and for shapes it splits along K once
     * more with split-K off.
     */
    public void matmul(int rows, int in, int out) {
        if (test instanceof TornadoBackend tornado) {
            TornadoBackend.Gemm configured = tornado.gemm();
            boolean configuredSplit = tornado.splitK();
            try {
                for (TornadoBackend.Gemm kernel : TornadoBackend.Gemm.values()) {
                    tornado.gemm(kernel);
                    tornado.splitK(true);
                    matmul(rows, in, out, " [gemm " + kernel.tile() + "]");
                    if (splits(tornado, rows, in, out)) {
                        tornado.splitK(false);
                        matmul(rows, in, out, " [gemm " + kernel.tile() + ", split-K off]");
                    }
                }
            } finally {
                tornado.gemm(configured);
                tornado.splitK(configuredSplit);
            }
        } else {
            matmul(rows, in, out, "");
        }
    }

    /** Whether any of the three forms (M, N, K below) is split along K. */
    private static boolean splits(TornadoBackend tornado, int rows, int in, int out) {
        return tornado.splitKSlices(rows, out, in) > 1 || tornado.splitKSlices(rows, in, out) > 1
                || tornado.splitKSlices(out, in, rows) > 1;
    }

    /** {@code " split-K xS"} when the TornadoVM backend splits {@code C[m,n] = A[m,k] B[k,n]} into S slices. */
    private String split(int m, int n, int k) {
        int slices = test instanceof TornadoBackend tornado ? tornado.splitKSlices(m, n, k) : 1;
        return slices > 1 ? " split-K x" + slices : "";
    }

    private void matmul(int rows, int in, int out, String kernel) {
        String shape = " " + rows + "x" + in + "->" + out + kernel;
        Pair x = new Pair("x", rows * in).fill(1), w = new Pair("w", out * in).fill(0.1);
        Pair y = new Pair("y", rows * out).fill(1), dy = new Pair("dy", rows * out).fill(1);
        Pair dx = new Pair("dx", rows * in).fill(1), dw = new Pair("dw", out * in).fill(1);
        both(b -> b.matmul(b == test ? y.t : y.r, b == test ? x.t : x.r, b == test ? w.t : w.r, rows, in, out));
        y.compare("matmul" + shape + split(rows, out, in), 1e-5);
        both(b -> b.matmulBackwardInput(b == test ? dx.t : dx.r, b == test ? dy.t : dy.r, b == test ? w.t : w.r,
                rows, in, out, false));
        dx.compare("matmulBackwardInput" + shape + split(rows, in, out), 1e-5);
        both(b -> b.matmulBackwardInput(b == test ? dx.t : dx.r, b == test ? dy.t : dy.r, b == test ? w.t : w.r,
                rows, in, out, true));
        dx.compare("matmulBackwardInput accumulate" + shape + split(rows, in, out), 1e-5);
        both(b -> b.matmulBackwardWeight(b == test ? dw.t : dw.r, b == test ? dy.t : dy.r, b == test ? x.t : x.r,
                rows, in, out));
        dw.compare("matmulBackwardWeight (accumulates)" + shape + split(out, in, rows), 1e-5);
        for (Pair p : List.of(x, w, y, dy, dx, dw)) p.free();
    }

    public void rmsnorm(int rows, int dim) {
        String shape = " " + rows + "x" + dim;
        Pair x = new Pair("x", rows * dim).fill(1), g = new Pair("g", dim).fillPositive();
        Pair out = new Pair("out", rows * dim), rstd = new Pair("rstd", rows);
        Pair dy = new Pair("dy", rows * dim).fill(1), dx = new Pair("dx", rows * dim).fill(1);
        Pair dg = new Pair("dg", dim).fill(1);
        both(b -> b.rmsnorm(b == test ? out.t : out.r, b == test ? rstd.t : rstd.r, b == test ? x.t : x.r,
                b == test ? g.t : g.r, rows, dim, 1e-5f));
        out.compare("rmsnorm" + shape, 1e-5);
        rstd.compare("rmsnorm rstd" + shape, 1e-5);
        both(b -> b.rmsnormBackward(b == test ? dx.t : dx.r, b == test ? dg.t : dg.r, b == test ? dy.t : dy.r,
                b == test ? x.t : x.r, b == test ? g.t : g.r, b == test ? rstd.t : rstd.r, rows, dim));
        dx.compare("rmsnormBackward dx (accumulates)" + shape, 1e-5);
        dg.compare("rmsnormBackward dgain (accumulates)" + shape, 1e-5);
        for (Pair p : List.of(x, g, out, rstd, dy, dx, dg)) p.free();
    }

    public void rope(int batch, int seqLen, int heads, int headDim) {
        int rows = batch * seqLen;
        Pair x = new Pair("x", rows * heads * headDim).fill(1);
        Pair table = new Pair("table", seqLen * headDim).fill(1);
        both(b -> b.rope(b == test ? x.t : x.r, b == test ? table.t : table.r, rows, seqLen, heads, headDim, false));
        x.compare("rope " + rows + "x" + heads + "x" + headDim, 1e-6);
        both(b -> b.rope(b == test ? x.t : x.r, b == test ? table.t : table.r, rows, seqLen, heads, headDim, true));
        x.compare("rope inverse", 1e-6);
        x.free();
        table.free();
    }

    public void swiglu(int n) {
        Pair gate = new Pair("gate", n).fill(2), up = new Pair("up", n).fill(1), out = new Pair("out", n);
        Pair dy = new Pair("dy", n).fill(1), dg = new Pair("dg", n), du = new Pair("du", n);
        both(b -> b.swiglu(b == test ? out.t : out.r, b == test ? gate.t : gate.r, b == test ? up.t : up.r, n));
        out.compare("swiglu " + n, 1e-5);
        both(b -> b.swigluBackward(b == test ? dg.t : dg.r, b == test ? du.t : du.r, b == test ? dy.t : dy.r,
                b == test ? gate.t : gate.r, b == test ? up.t : up.r, n));
        dg.compare("swigluBackward dgate " + n, 1e-5);
        du.compare("swigluBackward dup " + n, 1e-5);
        for (Pair p : List.of(gate, up, out, dy, dg, du)) p.free();
    }

    public void embedding(int vocab, int dim, int rows) {
        int[] ids = new int[rows];
        for (int i = 0; i < rows; i++) ids[i] = random.nextInt(Math.max(1, vocab / 3));
        IntPair tokens = ints("tokens", ids);
        Pair table = new Pair("table", vocab * dim).fill(1), out = new Pair("out", rows * dim);
        Pair dy = new Pair("dy", rows * dim).fill(1), dt = new Pair("dtable", vocab * dim).fill(1);
        both(b -> b.embedding(b == test ? out.t : out.r, b == test ? table.t : table.r,
                b == test ? tokens.t() : tokens.r(), rows, dim));
        out.compare("embedding " + rows + "x" + dim, 0);
        both(b -> b.embeddingBackward(b == test ? dt.t : dt.r, b == test ? dy.t : dy.r,
                b == test ? tokens.t() : tokens.r(), rows, dim));
        dt.compare("embeddingBackward (repeated ids)", 1e-6);
        for (Pair p : List.of(table, out, dy, dt)) p.free();
    }

    public void crossEntropy(int rows, int vocab) {
        int[] ys = new int[rows + 2];
        for (int i = 0; i < ys.length; i++) ys[i] = random.nextInt(vocab);
        ys[3] = -1;
        IntPair targets = ints("targets", ys);
        Pair logits = new Pair("logits", rows * vocab).fill(3), losses = new Pair("losses", rows + 3);
        both(b -> b.crossEntropy(b == test ? losses.t : losses.r, 3, b == test ? logits.t : logits.r,
                b == test ? targets.t() : targets.r(), 2, rows, vocab, 0.25f));
        losses.compare("crossEntropy loss " + rows + "x" + vocab, 1e-5);
        logits.compare("crossEntropy gradient (ignored row)", 1e-5);
        logits.free();
        losses.free();
    }

    public void attention(int batch, int seqLen, int heads, int kvHeads, int headDim) {
        String shape = String.format(" b%d T%d h%d/%d d%d", batch, seqLen, heads, kvHeads, headDim);
        int rows = batch * seqLen;
        Pair q = new Pair("q", rows * heads * headDim).fill(1), k = new Pair("k", rows * kvHeads * headDim).fill(1);
        Pair v = new Pair("v", rows * kvHeads * headDim).fill(1), out = new Pair("out", rows * heads * headDim);
        Pair lse = new Pair("lse", batch * heads * seqLen), dout = new Pair("dout", rows * heads * headDim).fill(1);
        Pair dq = new Pair("dq", rows * heads * headDim).fill(1), dk = new Pair("dk", rows * kvHeads * headDim).fill(1);
        Pair dv = new Pair("dv", rows * kvHeads * headDim).fill(1);
        both(b -> b.attention(b == test ? out.t : out.r, b == test ? lse.t : lse.r, b == test ? q.t : q.r,
                b == test ? k.t : k.r, b == test ? v.t : v.r, batch, seqLen, heads, kvHeads, headDim));
        out.compare("attention out" + shape, 1e-5);
        lse.compare("attention lse" + shape, 1e-5);
        both(b -> b.attentionBackward(b == test ? dq.t : dq.r, b == test ? dk.t : dk.r, b == test ? dv.t : dv.r,
                b == test ? dout.t : dout.r, b == test ? out.t : out.r, b == test ? lse.t : lse.r,
                b == test ? q.t : q.r, b == test ? k.t : k.r, b == test ? v.t : v.r,
                batch, seqLen, heads, kvHeads, headDim));
        // With one key (T = 1) the exact dq and dk are 0 (the key's probability is 1 whatever the score), so both
        // sides return rounding noise; measure them against the scale of dv, the same sums without the softmax.
        double gradientScale = dv.referenceNorm();
        dq.compare("attentionBackward dq" + shape, 1e-5, gradientScale);
        dk.compare("attentionBackward dk" + shape, 1e-5, gradientScale);
        dv.compare("attentionBackward dv" + shape, 1e-5);
        for (Pair p : List.of(q, k, v, out, lse, dout, dq, dk, dv)) p.free();
    }

    public void adamw(int n) {
        Pair p = new Pair("p", n).fill(0.02), g = new Pair("g", n).fill(0.1);
        Pair m = new Pair("m", n).fill(0.01), v = new Pair("v", n).fillPositive();
        AdamWStep step = new AdamWStep(3e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 7, 0.8f);
        both(b -> b.adamw(b == test ? p.t : p.r, b == test ? g.t : g.r, b == test ? m.t : m.r, b == test ? v.t : v.r, step));
        p.compare("adamw param " + n, 1e-6);
        m.compare("adamw m", 1e-6);
        v.compare("adamw v", 1e-6);
        for (Pair x : List.of(p, g, m, v)) x.free();
    }

    /**
     * The multi-tensor forms (zero, sum of squares, AdamW over a list, one launch on a TornadoVM backend) on a list
     * of odd sizes, one of them empty and one larger than a launch's share, with weight decay on every other tensor.
     */
    public void tensorLists() {
        int[] sizes = {999, 1, 0, 70_001, 4097, 33};
        List<Pair> p = new ArrayList<>(), g = new ArrayList<>(), m = new ArrayList<>(), v = new ArrayList<>();
        List<AdamWStep> steps = new ArrayList<>();
        for (int i = 0; i < sizes.length; i++) {
            p.add(new Pair("p" + i, sizes[i]).fill(0.02));
            g.add(new Pair("g" + i, sizes[i]).fill(0.1));
            m.add(new Pair("m" + i, sizes[i]).fill(0.01));
            v.add(new Pair("v" + i, sizes[i]).fillPositive());
            steps.add(new AdamWStep(3e-3f, 0.9f, 0.95f, 1e-8f, i % 2 == 0 ? 0.1f : 0f, 7, 0.8f));
        }
        double q1 = test.sumOfSquares(side(g, true)), q2 = ref.sumOfSquares(side(g, false));
        results.add(new Result("sumOfSquares of a list", Math.abs(q1 - q2) / q2, 1e-5));
        test.adamw(side(p, true), side(g, true), side(m, true), side(v, true), steps);
        ref.adamw(side(p, false), side(g, false), side(m, false), side(v, false), steps);
        for (int i = 0; i < sizes.length; i++) {
            p.get(i).compare("adamw of a list: param " + sizes[i], 1e-6);
            m.get(i).compare("adamw of a list: m " + sizes[i], 1e-6);
            v.get(i).compare("adamw of a list: v " + sizes[i], 1e-6);
        }
        test.zero(side(g, true));
        ref.zero(side(g, false));
        for (int i = 0; i < sizes.length; i++) g.get(i).compare("zero of a list: " + sizes[i], 0);
        for (List<Pair> list : List.of(p, g, m, v)) for (Pair x : list) x.free();
    }

    /**
     * Reads of a list of tensors into one host array: sizes around the staging buffers' (one larger than the
     * large stage, so that a tensor spans two transfers), then ranges of them, at arbitrary destination offsets
     * with gaps, in an order unlike the tensors'; then writes of the same lists and ranges. Exact: nothing is computed.
     */
    public void listReads() {
        int[] sizes = {7, TornadoBackend.LARGE_STAGE + 4099, 0, 16_385, 1, 300_001};
        List<Pair> pairs = new ArrayList<>();
        int[] offsets = new int[sizes.length];
        int end = 13;
        for (int i = sizes.length - 1; i >= 0; i--) {
            pairs.add(0, new Pair("r" + i, sizes[i]).fill(1));
            offsets[i] = end;
            end += sizes[i] + 5;
        }
        float[] a = new float[end], b = new float[end];
        test.read(side(pairs, true), a, offsets);
        ref.read(side(pairs, false), b, offsets);
        results.add(new Result("read of a list (" + end + " floats)", relative(a, b), 0));
        int[] from = {3, 4_000, 0, 16_000, 0, 5}, lengths = {4, 1_048_000, 0, 385, 1, 299_990};
        float[] c = new float[end], d = new float[end];
        test.read(side(pairs, true), from, lengths, c, offsets);
        ref.read(side(pairs, false), from, lengths, d, offsets);
        results.add(new Result("read of ranges of a list", relative(c, d), 0));
        // Writes the other way: the host array's ranges into the tensors, then every tensor compared whole.
        float[] host = new float[end];
        for (int i = 0; i < end; i++) host[i] = (float) random.nextGaussian();
        test.write(side(pairs, true), host, offsets);
        ref.write(side(pairs, false), host, offsets);
        for (Pair x : pairs) x.compare("write of a list: " + x.size, 0);
        for (int i = 0; i < end; i++) host[i] = (float) random.nextGaussian();
        test.write(side(pairs, true), from, lengths, host, offsets);
        ref.write(side(pairs, false), from, lengths, host, offsets);
        for (Pair x : pairs) x.compare("write of ranges of a list: " + x.size, 0);
        for (Pair x : pairs) x.free();
    }

    private static List<Tensor> side(List<Pair> pairs, boolean test) {
        List<Tensor> out = new ArrayList<>();
        for (Pair x : pairs) out.add(test ? x.t : x.r);
        return out;
    }

    /** Every kernel at odd sizes (and the sizes that cross the kernels' tile and group boundaries). */
    public List<Result> kernels() {
        memory();
        matmuls();
        rmsnorm(13, 77);
        rmsnorm(5, 300);
        rope(2, 9, 3, 10);
        swiglu(1001);
        embedding(50, 33, 40);
        crossEntropy(7, 1003);
        attention(2, 45, 4, 2, 16);
        attention(1, 70, 3, 3, 48);
        attention(1, 1, 2, 1, 8);
        attention(2, 77, 4, 1, 64);
        attention(1, 33, 2, 2, 10);
        adamw(999);
        tensorLists();
        listReads();
        return results;
    }

    // ---- a whole training step ----

    /**
     * One forward/backward of {@code config} on the same batch and initial weights, then one clipped AdamW step
     * from the same gradients; compares the loss, every gradient and every parameter after the update.
     */
    public List<Result> trainingStep(LlamaConfig config, int batch, int seqLen, double tolerance) {
        int[] windows = new int[batch * (seqLen + 1)];
        for (int i = 0; i < windows.length; i++) windows[i] = random.nextInt(config.vocabSize());
        try (LlamaModel mt = new LlamaModel(config, test); LlamaModel mr = new LlamaModel(config, ref);
             AdamW ot = new AdamW(test, mt.parameters(), AdamW.Hyper.LLAMA);
             AdamW or = new AdamW(ref, mr.parameters(), AdamW.Hyper.LLAMA)) {
            Initializer.initialize(mt, 7);
            Initializer.initialize(mr, 7);
            float scale = 1f / (batch * seqLen);
            double lt = mt.forwardBackward(windows, batch, seqLen, scale);
            double lr = mr.forwardBackward(windows, batch, seqLen, scale);
            results.add(new Result("step loss (" + String.format("%.6f", lr) + ")", Math.abs(lt - lr) / Math.abs(lr), tolerance));
            List<Parameters.Param> pt = mt.parameters().all(), pr = mr.parameters().all();
            for (int i = 0; i < pt.size(); i++) {
                results.add(new Result("grad " + pt.get(i).name(), relative(read(test, pt.get(i).grad()),
                        read(ref, pr.get(i).grad())), tolerance));
            }
            double nt = ot.gradientNorm(), nr = or.gradientNorm();
            results.add(new Result("gradient norm", Math.abs(nt - nr) / nr, tolerance));
            // The update is compared on the same gradients: AdamW's first step moves each weight by about
            // lr * g / (|g| + eps), so where |g| is near eps it would turn the gradients' last-bit differences
            // (above, ~1e-6) into differences of up to lr, whatever the kernels.
            for (int i = 0; i < pt.size(); i++) {
                float[] g = read(test, pt.get(i).grad());
                ref.write(pr.get(i).grad(), 0, g, 0, g.length);
            }
            nr = or.gradientNorm();
            ot.update(3e-3, 1, ot.clipScale(nt));
            or.update(3e-3, 1, or.clipScale(nr));
            for (int i = 0; i < pt.size(); i++) {
                results.add(new Result("param after AdamW " + pt.get(i).name(), relative(read(test, pt.get(i).value()),
                        read(ref, pr.get(i).value())), tolerance));
            }
        }
        return results;
    }

    private static float[] read(Backend backend, Tensor t) {
        float[] out = new float[t.size()];
        backend.read(t, 0, out, 0, out.length);
        return out;
    }
}
