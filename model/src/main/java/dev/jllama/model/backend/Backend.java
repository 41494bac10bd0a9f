package dev.jllama.model.backend;

import java.util.List;
import java.util.Optional;

/**
 * The seam between the model and the hardware: every tensor kernel a LLaMA training step needs, on opaque
 * buffers the backend allocates. A GPU backend keeps all of them resident on its device, so that only the
 * batch goes in and only the loss and the gradients (for the all-reduce) come out.
 *
 * <p>Layouts are row-major. Activations are {@code [rows, features]} with {@code rows = batch * seqLen}, row
 * {@code r} being position {@code r % seqLen} of sequence {@code r / seqLen}. Weight matrices are stored as
 * {@code [out, in]} (PyTorch's {@code nn.Linear} layout).
 *
 * <p>Conventions: kernels that produce a <em>parameter</em> gradient always accumulate ({@code +=}), so that
 * micro-batches accumulate; kernels that produce an <em>activation</em> gradient overwrite unless they take an
 * {@code accumulate} flag or say otherwise. Calls may run asynchronously; {@link #read} and the methods
 * returning a scalar wait for the work queued before them.
 */
public interface Backend extends AutoCloseable {

    /** A short name for logs and the command line: {@code cpu}, {@code tornado}. */
    String name();

    /** The format of the matrix products' operands (see {@link Precision}); fp32 unless the backend was made otherwise. */
    default Precision precision() {
        return Precision.FP32;
    }

    /** What executes the kernels, e.g. "CPU, 2 threads, AVX-512" or the GPU's name. */
    String device();

    /**
     * Rows of the LM head and loss computed at once (the model never holds more than this many rows of
     * {@code vocab} logits). Small keeps a CPU's working set in cache; large keeps a GPU's cores busy.
     */
    default int logitChunkRows() {
        return 256;
    }

    /**
     * Executions submitted to the device so far: units of work that each pay the runtime's fixed launch cost
     * whatever their size (TornadoVM: task-graph executions, each running one or more kernels). -1 for a backend
     * that runs its calls directly, with no such unit (the CPU backend).
     */
    default long executions() {
        return -1;
    }

    /**
     * The single-precision FLOP/s this backend's device can reach, the denominator of MFU; empty when unknown (MFU
     * is then reported as absent). This default looks the device's name up in {@link PeakFlops#ofGpu}'s table of
     * GPU datasheet peaks, so a GPU backend gets a peak without code of its own; the CPU backend measures its matmul.
     */
    default Optional<PeakFlops> peakFlops() {
        return PeakFlops.ofGpu(device());
    }

    /** Bytes of device memory this backend holds for its tensors, or -1 for a backend on host memory. */
    default long deviceBytesReserved() {
        return -1;
    }

    /** Bytes of that device memory the live tensors occupy now, or -1 for a backend on host memory. */
    default long deviceBytesInUse() {
        return -1;
    }

    // ---- memory ----

    /** A zero-filled float buffer of {@code size} elements. */
    Tensor allocate(String name, int size);

    /**
     * A buffer for an activation saved for the backward pass whose readers all tolerate bf16 values: a linear
     * layer's or attention's output, which the next products take as bf16 operands anyway. In bf16 a backend may
     * keep it as bf16 (half the bytes, values rounded to nearest even when written), as autocast keeps such outputs;
     * in fp32, and by default, it is {@link #allocate}'s.
     */
    default Tensor allocateActivation(String name, int size) {
        return allocate(name, size);
    }

    IntTensor allocateInts(String name, int size);

    /** Releases a buffer's memory now rather than at {@link #close()}. */
    void free(Tensor tensor);

    void write(Tensor dst, int dstOffset, float[] src, int srcOffset, int length);

    void read(Tensor src, int srcOffset, float[] dst, int dstOffset, int length);

    /**
     * {@link #read} of every whole tensor of the list: {@code sources[i]} into {@code dst[dstOffsets[i] ..]} (a
     * gradient bucket into the all-reduce buffer): as few device transfers as the backend can.
     */
    default void read(List<Tensor> sources, float[] dst, int[] dstOffsets) {
        int[] srcOffsets = new int[sources.size()], lengths = new int[sources.size()];
        for (int i = 0; i < lengths.length; i++) lengths[i] = sources.get(i).size();
        read(sources, srcOffsets, lengths, dst, dstOffsets);
    }

    /**
     * {@link #read} of a range of every tensor of the list: elements {@code [srcOffsets[i], srcOffsets[i] +
     * lengths[i])} of {@code sources[i]} into {@code dst[dstOffsets[i] ..]}; as few device transfers as the
     * backend can.
     */
    default void read(List<Tensor> sources, int[] srcOffsets, int[] lengths, float[] dst, int[] dstOffsets) {
        checkListRanges("read", sources, srcOffsets, lengths, dst, dstOffsets);
        for (int i = 0; i < sources.size(); i++) read(sources.get(i), srcOffsets[i], dst, dstOffsets[i], lengths[i]);
    }

    /**
     * {@link #write} of every whole tensor of the list: {@code targets[i]} from {@code src[srcOffsets[i] ..]} (the
     * all-reduced gradients back into the model): as few device transfers as the backend can.
     */
    default void write(List<Tensor> targets, float[] src, int[] srcOffsets) {
        int[] dstOffsets = new int[targets.size()], lengths = new int[targets.size()];
        for (int i = 0; i < lengths.length; i++) lengths[i] = targets.get(i).size();
        write(targets, dstOffsets, lengths, src, srcOffsets);
    }

    /**
     * {@link #write} of a range of every tensor of the list: elements {@code [dstOffsets[i], dstOffsets[i] +
     * lengths[i])} of {@code targets[i]} from {@code src[srcOffsets[i] ..]}; as few device transfers as the backend can.
     */
    default void write(List<Tensor> targets, int[] dstOffsets, int[] lengths, float[] src, int[] srcOffsets) {
        checkListRanges("write", targets, dstOffsets, lengths, src, srcOffsets);
        for (int i = 0; i < targets.size(); i++) write(targets.get(i), dstOffsets[i], src, srcOffsets[i], lengths[i]);
    }

    /**
     * Checks a list read or write ({@code what}): one tensor offset, length and host offset per tensor, and every
     * range inside its tensor and inside the host array.
     */
    static void checkListRanges(String what, List<Tensor> tensors, int[] tensorOffsets, int[] lengths, float[] host,
                                int[] hostOffsets) {
        int n = tensors.size();
        if (tensorOffsets.length != n || lengths.length != n || hostOffsets.length != n) {
            throw new IllegalArgumentException(what + " of " + n + " tensors needs " + n + " tensor offsets, lengths and"
                    + " host offsets, got " + tensorOffsets.length + ", " + lengths.length + " and "
                    + hostOffsets.length);
        }
        for (int i = 0; i < n; i++) {
            Tensor t = tensors.get(i);
            if (tensorOffsets[i] < 0 || lengths[i] < 0 || (long) tensorOffsets[i] + lengths[i] > t.size()) {
                throw new IndexOutOfBoundsException(what + ": range [" + tensorOffsets[i] + ", "
                        + ((long) tensorOffsets[i] + lengths[i]) + ") is outside tensor '" + t.name() + "' of "
                        + t.size() + " elements");
            }
            if (hostOffsets[i] < 0 || (long) hostOffsets[i] + lengths[i] > host.length) {
                throw new IndexOutOfBoundsException(what + " of tensor '" + t.name() + "': host range ["
                        + hostOffsets[i] + ", " + ((long) hostOffsets[i] + lengths[i]) + ") is outside the host array of "
                        + host.length + " elements");
            }
        }
    }

    void writeInts(IntTensor dst, int[] src, int length);

    void zero(Tensor tensor);

    /** {@link #zero(Tensor)} on every tensor of the list (the gradients before a step): one launch where it can. */
    default void zero(List<Tensor> tensors) {
        for (Tensor t : tensors) zero(t);
    }

    /** {@code dst[dstOffset ..] = src[srcOffset ..]} for {@code length} elements, on the device. */
    void copy(Tensor dst, int dstOffset, Tensor src, int srcOffset, int length);

    // ---- linear layers: the three matmul forms ----

    /** {@code out[r,o] = sum_i x[r,i] * w[o,i]}: forward of {@code y = x W^T}. */
    void matmul(Tensor out, Tensor x, Tensor w, int rows, int in, int outDim);

    /** {@code dx[r,i] (+)= sum_o dout[r,o] * w[o,i]}: gradient of the input. */
    void matmulBackwardInput(Tensor dx, Tensor dout, Tensor w, int rows, int in, int outDim, boolean accumulate);

    /** {@code dw[o,i] += sum_r dout[r,o] * x[r,i]}: gradient of the weight (accumulates). */
    void matmulBackwardWeight(Tensor dw, Tensor dout, Tensor x, int rows, int in, int outDim);

    // ---- normalisation, position, activation ----

    /** {@code out = x / rms(x) * gain} per row; stores {@code 1/rms} per row in {@code rstd} for backward. */
    void rmsnorm(Tensor out, Tensor rstd, Tensor x, Tensor gain, int rows, int dim, float eps);

    /** {@code dx += d(out)/dx^T dout} (accumulates into {@code dx}); {@code dgain += ...}. */
    void rmsnormBackward(Tensor dx, Tensor dgain, Tensor dout, Tensor x, Tensor gain, Tensor rstd, int rows, int dim);

    /**
     * Rotary position embedding in place on {@code x [rows, heads*headDim]}, Meta's interleaved layout: pairs
     * {@code (2j, 2j+1)} of each head rotate by angle {@code pos * theta^(-2j/headDim)}. {@code table} holds
     * {@code cos, sin} interleaved per {@code [pos, j]} ({@code seqLen * headDim} floats). With {@code inverse} it
     * rotates by the negative angle, which is the backward pass.
     */
    void rope(Tensor x, Tensor table, int rows, int seqLen, int heads, int headDim, boolean inverse);

    /** {@code out = silu(gate) * up}, elementwise over {@code n}. */
    void swiglu(Tensor out, Tensor gate, Tensor up, int n);

    /** Gradients of {@link #swiglu} with respect to {@code gate} and {@code up} (overwrite). */
    void swigluBackward(Tensor dgate, Tensor dup, Tensor dout, Tensor gate, Tensor up, int n);

    // ---- attention ----

    /**
     * Causal self-attention with grouped-query heads, never storing a {@code T x T} matrix (blockwise with an
     * online softmax). {@code q, out: [rows, heads*headDim]}, {@code k, v: [rows, kvHeads*headDim]};
     * {@code lse [batch*heads*seqLen]} receives each query's log-sum-exp of its scaled scores, for backward.
     */
    void attention(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v,
                   int batch, int seqLen, int heads, int kvHeads, int headDim);

    /** Gradients of {@link #attention} (overwrite {@code dq, dk, dv}); recomputes scores from {@code lse}. */
    void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor out, Tensor lse,
                           Tensor q, Tensor k, Tensor v,
                           int batch, int seqLen, int heads, int kvHeads, int headDim);

    /**
     * {@link #attention} with a per-example causal mask, for windows that pack several examples: query row
     * {@code r = b * seqLen + t} attends to the keys of positions {@code starts[r] .. t} of its sequence only (its
     * example's start to itself); {@code starts} null is plain causal attention. This default refuses a mask, so a
     * backend without the masked kernels says so instead of letting examples attend to each other.
     */
    default void attention(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v, IntTensor starts,
                           int batch, int seqLen, int heads, int kvHeads, int headDim) {
        if (starts != null) throw maskRefused();
        attention(out, lse, q, k, v, batch, seqLen, heads, kvHeads, headDim);
    }

    /** Gradients of {@link #attention(Tensor, Tensor, Tensor, Tensor, Tensor, IntTensor, int, int, int, int, int)}. */
    default void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor out, Tensor lse,
                                   Tensor q, Tensor k, Tensor v, IntTensor starts,
                                   int batch, int seqLen, int heads, int kvHeads, int headDim) {
        if (starts != null) throw maskRefused();
        attentionBackward(dq, dk, dv, dout, out, lse, q, k, v, batch, seqLen, heads, kvHeads, headDim);
    }

    /** Whether {@link #attention(Tensor, Tensor, Tensor, Tensor, Tensor, IntTensor, int, int, int, int, int)} takes a mask. */
    default boolean masksAttentionPerExample() {
        return false;
    }

    private UnsupportedOperationException maskRefused() {
        return new UnsupportedOperationException("the " + name() + " backend has no attention with a per-example mask"
                + " (finetune --pack): fine-tune without --pack, one example per window");
    }

    /**
     * Causal attention of {@code rows} new query rows of one sequence against its key/value cache, for decoding
     * token by token. {@code q, out: [rows, heads*headDim]}, row {@code r} at position {@code start + r};
     * {@code kCache, vCache: [capacity, kvHeads*headDim]} by position, already holding the new rows' keys and
     * values, so row {@code r} attends to positions {@code 0 .. start + r}. This default goes through host memory
     * with {@link CachedAttention}; a backend overrides it to stay on its device.
     */
    default void attentionCached(Tensor out, Tensor q, Tensor kCache, Tensor vCache,
                                 int rows, int start, int heads, int kvHeads, int headDim) {
        int qSize = rows * heads * headDim, kvSize = (start + rows) * kvHeads * headDim;
        float[] qs = new float[qSize], o = new float[qSize], k = new float[kvSize], v = new float[kvSize];
        read(q, 0, qs, 0, qSize);
        read(kCache, 0, k, 0, kvSize);
        read(vCache, 0, v, 0, kvSize);
        for (int h = 0; h < heads; h++) CachedAttention.head(o, qs, k, v, rows, start, heads, kvHeads, headDim, h);
        write(out, 0, o, 0, qSize);
    }

    // ---- embedding and loss ----

    /** {@code out[r,:] = table[tokens[r],:]}. */
    void embedding(Tensor out, Tensor table, IntTensor tokens, int rows, int dim);

    /** {@code dtable[tokens[r],:] += dout[r,:]} (accumulates). */
    void embeddingBackward(Tensor dtable, Tensor dout, IntTensor tokens, int rows, int dim);

    /**
     * Softmax cross-entropy of {@code logits [rows, vocab]} against {@code targets[targetOffset + r]}: writes each
     * row's loss to {@code losses[lossOffset + r]} and overwrites {@code logits} in place with
     * {@code (softmax - onehot) * gradScale}, the loss gradient. A negative target is ignored (loss and gradient 0).
     */
    void crossEntropy(Tensor losses, int lossOffset, Tensor logits, IntTensor targets, int targetOffset,
                      int rows, int vocab, float gradScale);

    // ---- elementwise, reductions, optimizer ----

    /** {@code dst += src} over {@code n} elements. */
    void add(Tensor dst, Tensor src, int n);

    /** {@code t *= factor}. */
    void scale(Tensor t, float factor);

    /** Sum of the first {@code n} elements, in double precision. */
    double sum(Tensor t, int n);

    /** Sum of squares of all elements, in double precision (for the global gradient norm). */
    double sumOfSquares(Tensor t);

    /** The sum over the list of each tensor's {@link #sumOfSquares(Tensor)}, in list order: one launch where it can. */
    default double sumOfSquares(List<Tensor> tensors) {
        double squares = 0;
        for (Tensor t : tensors) squares += sumOfSquares(t);
        return squares;
    }

    /** One decoupled-weight-decay Adam update of {@code param} from {@code grad}, updating the moments. */
    void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step);

    /**
     * {@link #adamw(Tensor, Tensor, Tensor, Tensor, AdamWStep)} on each {@code (params[i], grads[i], m[i], v[i])}
     * with {@code steps[i]}: the whole model's update, in one launch where the backend can.
     */
    default void adamw(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v, List<AdamWStep> steps) {
        for (int i = 0; i < params.size(); i++) adamw(params.get(i), grads.get(i), m.get(i), v.get(i), steps.get(i));
    }

    /**
     * AdamW on elements {@code [offset, offset + length)} of {@code param} and {@code grad}, whose moments are at
     * {@code [momentOffset, momentOffset + length)} of {@code m} and {@code v}: one rank's share of a parameter
     * when the optimizer state is sharded across ranks (ZeRO-1). This default goes through host memory with
     * {@link AdamWStep#apply}; a backend overrides it to stay on its device.
     */
    default void adamw(Tensor param, Tensor grad, int offset, Tensor m, Tensor v, int momentOffset, int length,
                       AdamWStep step) {
        float[] p = new float[length], g = new float[length], m1 = new float[length], m2 = new float[length];
        read(param, offset, p, 0, length);
        read(grad, offset, g, 0, length);
        read(m, momentOffset, m1, 0, length);
        read(v, momentOffset, m2, 0, length);
        step.apply(p, g, 0, m1, m2, 0, length);
        write(param, offset, p, 0, length);
        write(m, momentOffset, m1, 0, length);
        write(v, momentOffset, m2, 0, length);
    }

    @Override
    void close();
}
