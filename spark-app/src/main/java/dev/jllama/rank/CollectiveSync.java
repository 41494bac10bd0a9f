package dev.jllama.rank;

import dev.jllama.collective.Collective;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.ParameterLayout;
import dev.jllama.model.Parameters;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.Tensor;
import dev.jllama.model.checkpoint.OptimizerState;
import dev.jllama.model.optim.AdamW;
import dev.jllama.model.optim.ShardedAdamW;
import dev.jllama.model.train.StepSync;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.zip.CRC32C;

/**
 * Data-parallel step over the collective. Gradients leave the backend bucket by bucket (one bucket per group of
 * {@link Parameters#backwardGroups()}) while the backward pass goes on, and are summed over the ring in the
 * background. Replicated: every rank all-reduces and runs AdamW on the whole model. ZeRO-1: every rank
 * reduce-scatters, owns 1/N of each bucket, runs AdamW on that share only (moments for it alone), and the updated
 * parameters are all-gathered. Both give the same bits: the sums come from the same ring reduction, the norm is
 * summed in one fixed order, and the update is the same per element.
 */
final class CollectiveSync implements StepSync {
    private final Collective collective;
    private final LlamaModel model;
    private final Backend backend;
    private final ParameterLayout layout;
    private final AdamW replicated;
    private final ShardedAdamW sharded;
    private final AdamW.Hyper hyper;
    private final int checkEvery;
    private final float[] gradients;
    private final float[] parameters; // ZeRO-1: where the updated shares meet
    /** Per bucket: its gradient tensors and their places in the flat vector, for one list read each. */
    private final List<List<Tensor>> bucketGrads = new ArrayList<>();
    private final List<int[]> bucketOffsets = new ArrayList<>();
    /** Every gradient and every parameter, and their places in the flat vector, for one list write each. */
    private final List<Tensor> allGrads = new ArrayList<>(), allValues = new ArrayList<>();
    private final int[] allOffsets;
    /** ZeRO-1: this rank's share of each parameter, as ranges of the gradient and value tensors and of the flat vector. */
    private final List<Tensor> ownedGrads = new ArrayList<>(), ownedValues = new ArrayList<>();
    private final int[] ownedTensorOffsets, ownedLengths, ownedFlatOffsets;
    private final List<CompletableFuture<Void>> inFlight = new ArrayList<>();
    private long waitNanos; // compute stalled on communication: what overlap did not hide

    private CollectiveSync(Collective collective, LlamaModel model, ParameterLayout layout, AdamW replicated,
                           ShardedAdamW sharded, AdamW.Hyper hyper, int checkEvery) {
        this.collective = collective;
        this.model = model;
        this.backend = model.backend();
        this.layout = layout;
        this.replicated = replicated;
        this.sharded = sharded;
        this.hyper = hyper;
        this.checkEvery = checkEvery;
        this.gradients = new float[layout.size()];
        this.parameters = sharded == null ? null : new float[layout.size()];
        for (ParameterLayout.Bucket b : layout.buckets()) {
            List<Tensor> grads = new ArrayList<>();
            int[] offsets = new int[b.params().size()];
            for (Parameters.Param p : b.params()) {
                offsets[grads.size()] = layout.offset(p);
                grads.add(p.grad());
            }
            bucketGrads.add(grads);
            bucketOffsets.add(offsets);
        }
        this.allOffsets = new int[layout.params().size()];
        for (Parameters.Param p : layout.params()) {
            allOffsets[allGrads.size()] = layout.offset(p);
            allGrads.add(p.grad());
            allValues.add(p.value());
        }
        List<ShardedAdamW.Segment> segments = sharded == null ? List.of() : sharded.segments();
        ownedTensorOffsets = new int[segments.size()];
        ownedLengths = new int[segments.size()];
        ownedFlatOffsets = new int[segments.size()];
        for (ShardedAdamW.Segment s : segments) {
            int i = ownedGrads.size();
            ownedTensorOffsets[i] = s.offset();
            ownedLengths[i] = s.length();
            ownedFlatOffsets[i] = layout.offset(s.param()) + s.offset();
            ownedGrads.add(s.param().grad());
            ownedValues.add(s.param().value());
        }
    }

    static CollectiveSync replicated(Collective collective, LlamaModel model, AdamW optimizer, int checkEvery) {
        return new CollectiveSync(collective, model, new ParameterLayout(model.trainable()), optimizer, null,
                optimizer.hyper(), checkEvery);
    }

    static CollectiveSync sharded(Collective collective, LlamaModel model, ShardedAdamW optimizer, AdamW.Hyper hyper,
                                  int checkEvery) {
        return new CollectiveSync(collective, model, new ParameterLayout(model.trainable()), null, optimizer, hyper,
                checkEvery);
    }

    /** The ranges of the flat layout that {@code rank} owns under ZeRO-1: its share of every bucket. */
    static List<int[]> ownedRanges(ParameterLayout layout, int worldSize, int rank) {
        List<int[]> owned = new ArrayList<>();
        for (ParameterLayout.Bucket b : layout.buckets()) {
            Collective.Range r = Collective.range(b.length(), worldSize, rank);
            if (r.length() > 0) owned.add(new int[] {b.start() + r.start(), b.start() + r.end()});
        }
        return owned;
    }

    @Override
    public int rank() {
        return collective.rank();
    }

    @Override
    public int worldSize() {
        return collective.worldSize();
    }

    @Override
    public LlamaModel.GradientListener gradientListener() {
        return group -> {
            ParameterLayout.Bucket bucket = layout.buckets().get(group);
            backend.read(bucketGrads.get(group), gradients, bucketOffsets.get(group));
            inFlight.add(sharded == null
                    ? collective.allReduceAsync(gradients, bucket.start(), bucket.length())
                    : collective.reduceScatterAsync(gradients, bucket.start(), bucket.length()));
        };
    }

    @Override
    public void reduceGradients() throws IOException {
        awaitAll();
        if (sharded == null) {
            backend.write(allGrads, gradients, allOffsets);
        } else {
            backend.write(ownedGrads, ownedTensorOffsets, ownedLengths, gradients, ownedFlatOffsets);
        }
    }

    private void awaitAll() throws IOException {
        long start = System.nanoTime();
        try {
            for (CompletableFuture<Void> f : inFlight) f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof IOException io) throw io;
            throw e;
        } finally {
            inFlight.clear();
            waitNanos += System.nanoTime() - start;
        }
    }

    /** Seconds this rank has waited for bucket transfers so far (gradients, and ZeRO-1's parameters and moments). */
    double waitSeconds() {
        return waitNanos / 1e9;
    }

    @Override
    public double sumOverRanks(double local) throws IOException {
        return collective.allReduceDoubles(new double[] {local})[0];
    }

    /**
     * Sum of squares per owner share, then over owners in rank order: the same arithmetic whether this rank holds
     * all reduced gradients (replicated) or only its share (ZeRO-1).
     */
    @Override
    public double gradientNorm() throws IOException {
        int n = worldSize();
        double[] perOwner = new double[n];
        for (int owner = 0; owner < n; owner++) {
            if (sharded != null && owner != rank()) continue;
            for (ParameterLayout.Bucket b : layout.buckets()) {
                Collective.Range r = Collective.range(b.length(), n, owner);
                double s = 0;
                for (int i = b.start() + r.start(); i < b.start() + r.end(); i++) s += (double) gradients[i] * gradients[i];
                perOwner[owner] += s;
            }
        }
        if (sharded != null) perOwner = collective.allReduceDoubles(perOwner); // one non-zero term per slot: exact
        double squares = 0;
        for (double s : perOwner) squares += s;
        return Math.sqrt(squares);
    }

    @Override
    public void update(double lr, int step, float clipScale) throws IOException {
        if (sharded == null) {
            replicated.update(lr, step, clipScale);
            return;
        }
        sharded.update(lr, step, clipScale);
        backend.read(ownedValues, ownedTensorOffsets, ownedLengths, parameters, ownedFlatOffsets);
        allGatherBuckets(parameters);
        backend.write(allValues, parameters, allOffsets);
    }

    private void allGatherBuckets(float[] flat) throws IOException {
        for (ParameterLayout.Bucket b : layout.buckets()) {
            inFlight.add(collective.allGatherAsync(flat, b.start(), b.length()));
        }
        awaitAll();
    }

    @Override
    public float clipScale(double gradNorm) {
        return hyper.clipScale(gradNorm);
    }

    @Override
    public OptimizerState checkpointState() throws IOException {
        if (sharded == null) return rank() == 0 ? replicated.download() : null;
        float[][] owned = sharded.downloadMoments();
        float[] first = new float[layout.size()], second = new float[layout.size()];
        for (ShardedAdamW.Segment s : sharded.segments()) {
            int at = layout.offset(s.param()) + s.offset();
            System.arraycopy(owned[0], s.momentOffset(), first, at, s.length());
            System.arraycopy(owned[1], s.momentOffset(), second, at, s.length());
        }
        allGatherBuckets(first);
        allGatherBuckets(second);
        List<float[]> m = new ArrayList<>(), v = new ArrayList<>();
        for (Parameters.Param p : layout.params()) {
            int at = layout.offset(p);
            m.add(Arrays.copyOfRange(first, at, at + p.size()));
            v.add(Arrays.copyOfRange(second, at, at + p.size()));
        }
        return new OptimizerState(m, v);
    }

    /** Every {@code checkEvery} steps: stop when any rank's parameters differ from rank 0's. */
    @Override
    public void afterStep(int step) throws IOException {
        if (checkEvery <= 0 || step % checkEvery != 0) return;
        long mine = parameterChecksum();
        byte[][] all = collective.allGatherBytes(ByteBuffer.allocate(8).putLong(mine).array());
        for (int r = 1; r < all.length; r++) {
            long theirs = ByteBuffer.wrap(all[r]).getLong();
            long first = ByteBuffer.wrap(all[0]).getLong();
            if (theirs != first) {
                throw new IllegalStateException(String.format("ranks diverged at step %d: the parameters of rank %d "
                        + "have checksum %016x, rank 0's %016x; stopping instead of training apart", step, r, theirs, first));
            }
        }
    }

    /** CRC32C of the parameters bucket by bucket (in layout order: only ranks' checksums are compared). */
    private long parameterChecksum() {
        CRC32C crc = new CRC32C();
        for (ParameterLayout.Bucket b : layout.buckets()) {
            List<Tensor> values = new ArrayList<>();
            int[] offsets = new int[b.params().size()];
            for (Parameters.Param p : b.params()) {
                offsets[values.size()] = layout.offset(p) - b.start();
                values.add(p.value());
            }
            float[] host = new float[b.length()];
            backend.read(values, host, offsets);
            ByteBuffer bytes = ByteBuffer.allocate(host.length * 4);
            bytes.asFloatBuffer().put(host);
            crc.update(bytes);
        }
        return crc.getValue();
    }

    /**
     * Bytes per rank of the trained parameters (the model's, or its LoRA adapters'), their gradients, AdamW moments and
     * host reduction buffers, for the memory report.
     */
    String memoryReport() {
        long params = 4L * layout.size();
        long moments = sharded == null ? 2 * params : 8L * sharded.ownedElements();
        return String.format("rank %d memory: %s %.2f MiB, gradients %.2f MiB, AdamW moments %.2f MiB%s, "
                        + "host buffers %.2f MiB", rank(), model.lora() == null ? "parameters" : "LoRA adapters",
                params / 1048576.0, params / 1048576.0, moments / 1048576.0,
                sharded == null ? "" : String.format(" (ZeRO-1: 1/%d of %.1f MiB)", worldSize(), 2 * params / 1048576.0),
                (sharded == null ? params : 2 * params) / 1048576.0);
    }
}
