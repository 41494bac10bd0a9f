package dev.jllama.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jllama.model.Parameters.Param;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Low-rank adapters (LoRA, Hu et al. 2021) on the linear layers of every block: a target {@code W [out, in]} computes
 * {@code y = x W^T + s (x A^T) B^T} with {@code A [r, in]}, {@code B [out, r]} and {@code s = alpha / r}. Only the
 * adapters train; the base weights stay as loaded. {@code A} starts uniform in {@code ±1/sqrt(in)} (PEFT's
 * Kaiming-uniform with {@code a = sqrt(5)}) and {@code B} at zero, so the adapted model starts as the base model.
 *
 * <p>Forward and backward are written out here per target, with named buffers and the Backend seam's matmul kernels
 * only (so every backend runs them): forward {@code xa = s · x A^T}, {@code y += xa B^T}; backward
 * {@code dB += dy^T xa}, {@code dxa = s · dy B}, {@code dA += dxa^T x}, {@code dx += dxa A}.
 */
public final class Lora implements AutoCloseable {
    /** The targets by short name, in the order of a block's linear layers, with their Meta weight names. */
    public static final List<String> TARGETS = List.of("q", "k", "v", "o", "gate", "up", "down");
    private static final List<String> WEIGHTS = List.of("attention.wq", "attention.wk", "attention.wv", "attention.wo",
            "feed_forward.w1", "feed_forward.w3", "feed_forward.w2");
    public static final int Q = 0, K = 1, V = 2, O = 3, GATE = 4, UP = 5, DOWN = 6;

    /** What to adapt: rank, alpha and the targets (short names of {@link #TARGETS}). */
    public record Spec(int rank, double alpha, List<String> targets) {
        public Spec {
            if (rank <= 0) throw new IllegalArgumentException("--lora-rank must be positive, got " + rank);
            if (!(alpha > 0)) throw new IllegalArgumentException("--lora-alpha must be positive, got " + alpha);
            if (targets.isEmpty()) throw new IllegalArgumentException("--lora-targets names no target");
            for (String t : targets) {
                if (!TARGETS.contains(t)) {
                    throw new IllegalArgumentException("--lora-targets takes " + String.join(",", TARGETS) + ", got '"
                            + t + "'");
                }
            }
            targets = List.copyOf(targets);
        }

        public float scale() {
            return (float) (alpha / rank);
        }

        public ObjectNode toJson() {
            ObjectNode node = new ObjectMapper().createObjectNode();
            node.put("rank", rank);
            node.put("alpha", alpha);
            var array = node.putArray("targets");
            targets.forEach(array::add);
            return node;
        }

        /** The spec {@link #toJson} wrote, or null for a missing or null node. */
        public static Spec fromJson(JsonNode node) {
            if (node == null || node.isNull() || node.isMissingNode()) return null;
            List<String> targets = new ArrayList<>();
            node.path("targets").forEach(t -> targets.add(t.asText()));
            return new Spec(node.path("rank").asInt(), node.path("alpha").asDouble(), targets);
        }
    }

    /** Meta name of the base weight of {@code target} in {@code layer}. */
    public static String weightName(int layer, int target) {
        return "layers." + layer + "." + WEIGHTS.get(target) + ".weight";
    }

    /** Names of the adapter tensors of {@code target} in {@code layer}: {@code ...wq.lora_a}, {@code ...wq.lora_b}. */
    public static String adapterName(int layer, int target, char which) {
        return "layers." + layer + "." + WEIGHTS.get(target) + ".lora_" + which;
    }

    /** One adapted layer: {@code a [rank, in]}, {@code b [out, rank]}. */
    record Adapter(Param a, Param b, int in, int out) {}

    private final Spec spec;
    private final Backend backend;
    private final int layers;
    private final Adapter[][] adapters; // [layer][target], null where not adapted
    private final Parameters trainable;
    // Activations, for micro-batches of `rows` rows.
    private int rows = -1;
    private Tensor[][] xa; // [layer][target]: s · x A^T, kept for backward
    private Tensor dxa, product;

    Lora(LlamaConfig config, Backend backend, Spec spec) {
        this.spec = spec;
        this.backend = backend;
        this.layers = config.layers();
        int d = config.dim(), kv = config.kvDim(), f = config.hiddenDim();
        int[] in = {d, d, d, d, d, d, f}, out = {d, kv, kv, d, f, f, d};
        adapters = new Adapter[layers][TARGETS.size()];
        List<Param> all = new ArrayList<>();
        List<List<Param>> groups = new ArrayList<>();
        for (int l = 0; l < layers; l++) groups.add(new ArrayList<>());
        for (int l = 0; l < layers; l++) {
            for (int t = 0; t < TARGETS.size(); t++) {
                if (!spec.targets().contains(TARGETS.get(t))) continue;
                Param a = param(adapterName(l, t, 'a'), spec.rank(), in[t]);
                Param b = param(adapterName(l, t, 'b'), out[t], spec.rank());
                adapters[l][t] = new Adapter(a, b, in[t], out[t]);
                all.add(a);
                all.add(b);
                // Backward finishes the last layer first: group i is layer layers - 1 - i.
                groups.get(layers - 1 - l).addAll(List.of(a, b));
            }
        }
        this.trainable = Parameters.of(all, groups);
    }

    private Param param(String name, int rows, int cols) {
        int size = Math.multiplyExact(rows, cols);
        return new Param(name, new int[] {rows, cols}, false, backend.allocate(name, size),
                backend.allocate("grad." + name, size));
    }

    public Spec spec() {
        return spec;
    }

    /** The adapters as the optimizer, the gradient reduction and checkpoints see them. */
    public Parameters parameters() {
        return trainable;
    }

    /** {@code A} uniform in {@code ±1/sqrt(in)} from {@code seed}, {@code B} zero. */
    public void initialize(long seed) {
        SplittableRandom random = new SplittableRandom(seed ^ 0x4c6f5241L);
        for (Adapter[] layer : adapters) {
            for (Adapter ad : layer) {
                if (ad == null) continue;
                float[] a = new float[ad.a().size()];
                double bound = 1 / Math.sqrt(ad.in());
                for (int i = 0; i < a.length; i++) a[i] = (float) ((2 * random.nextDouble() - 1) * bound);
                backend.write(ad.a().value(), 0, a, 0, a.length);
                backend.zero(ad.b().value());
            }
        }
    }

    boolean adapts(int target) {
        return spec.targets().contains(TARGETS.get(target));
    }

    private void ensure(int rows, int maxOut) {
        if (this.rows == rows) return;
        freeActivations();
        this.rows = rows;
        xa = new Tensor[layers][TARGETS.size()];
        for (int l = 0; l < layers; l++) {
            for (int t = 0; t < TARGETS.size(); t++) {
                if (adapters[l][t] != null) xa[l][t] = backend.allocate("lora.xa." + l + "." + t, rows * spec.rank());
            }
        }
        dxa = backend.allocate("lora.dxa", rows * spec.rank());
        product = backend.allocate("lora.product", Math.multiplyExact(rows, maxOut));
    }

    /** Bytes of the adapters' activation buffers. */
    long activationBytes() {
        long n = 0;
        if (xa != null) for (Tensor[] l : xa) for (Tensor t : l) if (t != null) n += t.size();
        if (dxa != null) n += dxa.size() + product.size();
        return 4 * n;
    }

    /** {@code out += s (x A^T) B^T} for {@code target} of {@code layer}, after the base matmul wrote {@code out}. */
    void forward(int layer, int target, Tensor out, Tensor x, int rows, int maxOut) {
        Adapter ad = adapters[layer][target];
        if (ad == null) return;
        ensure(rows, maxOut);
        int r = spec.rank();
        Tensor xaT = xa[layer][target];
        backend.matmul(xaT, x, ad.a().value(), rows, ad.in(), r);
        backend.scale(xaT, spec.scale());
        backend.matmul(product, xaT, ad.b().value(), rows, r, ad.out());
        backend.add(out, product, rows * ad.out());
    }

    /**
     * Gradients of {@code target} of {@code layer} from {@code dy}, the gradient of its output: {@code dA} and
     * {@code dB} accumulate, and {@code dx} (which the base layer's input gradient already holds) gains the
     * adapter's share.
     */
    void backward(int layer, int target, Tensor dx, Tensor dy, Tensor x, int rows) {
        Adapter ad = adapters[layer][target];
        if (ad == null) return;
        int r = spec.rank();
        backend.matmulBackwardWeight(ad.b().grad(), dy, xa[layer][target], rows, r, ad.out());
        backend.matmulBackwardInput(dxa, dy, ad.b().value(), rows, r, ad.out(), false);
        backend.scale(dxa, spec.scale());
        backend.matmulBackwardWeight(ad.a().grad(), dxa, x, rows, ad.in(), r);
        backend.matmulBackwardInput(dx, dxa, ad.a().value(), rows, ad.in(), r, true);
    }

    /**
     * Folds adapters into base weights in host memory: {@code W += s · B A} for every adapted target whose
     * {@code lora_a}/{@code lora_b} tensors {@code adapters} holds, by the names of {@link #adapterName}.
     */
    public static void merge(Spec spec, int layers, Map<String, float[]> weights, Map<String, float[]> adapters) {
        float s = spec.scale();
        int r = spec.rank();
        for (int l = 0; l < layers; l++) {
            for (int t = 0; t < TARGETS.size(); t++) {
                if (!spec.targets().contains(TARGETS.get(t))) continue;
                float[] a = adapters.get(adapterName(l, t, 'a')), b = adapters.get(adapterName(l, t, 'b'));
                float[] w = weights.get(weightName(l, t));
                if (a == null || b == null || w == null) {
                    throw new IllegalArgumentException("LoRA adapters of " + weightName(l, t) + " are missing");
                }
                int in = a.length / r, out = b.length / r;
                if (w.length != (long) in * out) {
                    throw new IllegalArgumentException("LoRA adapters of " + weightName(l, t) + " are " + out + " x "
                            + r + " and " + r + " x " + in + ", the weight has " + w.length + " values");
                }
                for (int o = 0; o < out; o++) {
                    for (int i = 0; i < in; i++) {
                        double sum = 0;
                        for (int k = 0; k < r; k++) sum += (double) b[o * r + k] * a[k * in + i];
                        w[o * in + i] += (float) (s * sum);
                    }
                }
            }
        }
    }

    private void freeActivations() {
        if (xa != null) for (Tensor[] l : xa) for (Tensor t : l) if (t != null) backend.free(t);
        if (dxa != null) backend.free(dxa);
        if (product != null) backend.free(product);
        xa = null;
        dxa = null;
        product = null;
        rows = -1;
    }

    @Override
    public void close() {
        freeActivations();
        for (Param p : trainable.all()) {
            backend.free(p.value());
            backend.free(p.grad());
        }
    }
}
