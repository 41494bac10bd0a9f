package dev.jllama.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jllama.model.Lora;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.Parameters;
import dev.jllama.model.checkpoint.SafeTensors;
import dev.jllama.model.export.ModelWeights;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LoRA against PyTorch with the low-rank update written by hand ({@code src/test/python/lora_check.py}, no PEFT): the
 * masked loss and every adapter's gradient; and the adapters merged into the weights give the unmerged forward.
 */
class LoraCrossCheckTest {
    private static final Path SCRIPT = Path.of("src/test/python/lora_check.py");
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @BeforeAll
    static void needsPython() {
        HfPython.assumeAvailable();
    }

    /** Adapters with random A and B (B is zero after initialisation, which would leave A's gradient zero). */
    private static void randomAdapters(LlamaModel model, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        for (Parameters.Param p : model.trainable().all()) {
            float[] v = new float[p.size()];
            for (int i = 0; i < v.length; i++) v[i] = (float) (0.1 * random.nextGaussian());
            model.backend().write(p.value(), 0, v, 0, v.length);
        }
    }

    private static Map<String, float[]> host(LlamaModel model, List<Parameters.Param> params, boolean grads) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Parameters.Param p : params) {
            float[] v = new float[p.size()];
            model.backend().read(grads ? p.grad() : p.value(), 0, v, 0, v.length);
            out.put(p.name(), v);
        }
        return out;
    }

    @Test
    void lossAndAdapterGradientsEqualHandWrittenPyTorch() throws Exception {
        LlamaConfig config = ExportFixtures.UNTIED;
        ModelWeights weights = ExportFixtures.randomWeights(config, 23);
        for (List<String> targets : List.of(Lora.TARGETS, List.of("q", "v"))) {
            Lora.Spec spec = new Lora.Spec(4, 8, targets);
            int batch = 2, seq = 24;
            SplittableRandom random = new SplittableRandom(99);
            int[] tokens = new int[batch * (seq + 1)];
            for (int i = 0; i < tokens.length; i++) tokens[i] = random.nextInt(config.vocabSize());
            boolean[] mask = new boolean[batch * seq];
            int counted = 0;
            for (int i = 0; i < mask.length; i++) if (mask[i] = i % seq >= 5 && random.nextInt(4) != 0) counted++;

            Map<String, float[]> ourGrads, adapters;
            double ours;
            try (LlamaModel model = ExportFixtures.load(weights)) {
                model.enableLora(spec, 3);
                randomAdapters(model, 5);
                model.zeroGradients();
                ours = model.forwardBackward(tokens, mask, batch, seq, 1f / counted,
                        LlamaModel.GradientListener.NONE) / counted;
                ourGrads = host(model, model.trainable().all(), true);
                adapters = host(model, model.trainable().all(), false);
                model.backend().close();
            }
            List<SafeTensors.Entry> entries = new ArrayList<>();
            weights.tensors().forEach((name, v) -> entries.add(new SafeTensors.Entry(name, shapeOf(config, name, v), v)));
            int r = spec.rank();
            adapters.forEach((name, v) -> entries.add(new SafeTensors.Entry(name,
                    name.endsWith("lora_a") ? new int[] {r, v.length / r} : new int[] {v.length / r, r}, v)));
            Path tensors = tmp.resolve("tensors.safetensors"), out = tmp.resolve("grads.safetensors");
            try (OutputStream o = Files.newOutputStream(tensors)) {
                SafeTensors.write(o, entries, Map.of());
            }
            ObjectNode specJson = JSON.createObjectNode().put("batch", batch).put("seq_len", seq);
            specJson.set("config", config.toJson());
            specJson.set("lora", spec.toJson());
            ArrayNode t = specJson.putArray("tokens"), m = specJson.putArray("mask");
            for (int v : tokens) t.add(v);
            for (boolean b : mask) m.add(b ? 1 : 0);
            Path specFile = tmp.resolve("spec.json");
            Files.writeString(specFile, specJson.toString());
            JsonNode theirs = JSON.readTree(HfPython.runScript(HfPython.VARIABLE, SCRIPT, specFile.toString(),
                    tensors.toString(), out.toString()));
            Map<String, SafeTensors.Entry> theirGrads;
            try (InputStream in = Files.newInputStream(out)) {
                theirGrads = SafeTensors.read(in, out.toString());
            }
            assertEquals(counted, theirs.get("counted").asInt());
            double worst = 0, largest = 0;
            for (var e : ourGrads.entrySet()) {
                float[] a = e.getValue(), b = theirGrads.get(e.getKey()).data();
                assertEquals(a.length, b.length, e.getKey());
                for (int i = 0; i < a.length; i++) {
                    worst = Math.max(worst, Math.abs(a[i] - b[i]));
                    largest = Math.max(largest, Math.abs(b[i]));
                }
            }
            System.out.printf("LoRA r=%d alpha=%.0f targets %s: loss ours %.8f, PyTorch %.8f (|diff| %.3g); adapter"
                            + " gradients (%d tensors) max |diff| %.3g, max |gradient| %.3g%n", spec.rank(),
                    spec.alpha(), targets, ours, theirs.get("loss").asDouble(),
                    Math.abs(ours - theirs.get("loss").asDouble()), ourGrads.size(), worst, largest);
            assertEquals(theirs.get("loss").asDouble(), ours, 1e-5);
            assertTrue(largest > 1e-3, "the gradients are not all near zero: " + largest);
            assertTrue(worst <= 1e-5, "adapter gradients differ by " + worst);
        }
    }

    @Test
    void mergedWeightsGiveTheUnmergedForward() {
        LlamaConfig config = ExportFixtures.UNTIED;
        ModelWeights weights = ExportFixtures.randomWeights(config, 31);
        Lora.Spec spec = new Lora.Spec(8, 16, Lora.TARGETS);
        int batch = 1, seq = 32;
        int[] tokens = new int[batch * seq];
        SplittableRandom random = new SplittableRandom(4);
        for (int i = 0; i < tokens.length; i++) tokens[i] = random.nextInt(config.vocabSize());
        float[] unmerged, base, merged;
        Map<String, float[]> adapters;
        try (LlamaModel model = ExportFixtures.load(weights)) {
            base = model.logits(tokens, batch, seq);
            model.enableLora(spec, 3);
            randomAdapters(model, 8);
            unmerged = model.logits(tokens, batch, seq);
            adapters = host(model, model.trainable().all(), false);
            model.backend().close();
        }
        Map<String, float[]> mergedWeights = new HashMap<>();
        weights.tensors().forEach((k, v) -> mergedWeights.put(k, v.clone()));
        Lora.merge(spec, config.layers(), mergedWeights, adapters);
        try (LlamaModel model = ExportFixtures.load(new ModelWeights(config, mergedWeights))) {
            merged = model.logits(tokens, batch, seq);
            model.backend().close();
        }
        double worst = 0, largest = 0, moved = 0;
        for (int i = 0; i < merged.length; i++) {
            worst = Math.max(worst, Math.abs(merged[i] - unmerged[i]));
            largest = Math.max(largest, Math.abs(unmerged[i]));
            moved = Math.max(moved, Math.abs(unmerged[i] - base[i]));
        }
        System.out.printf("LoRA merged vs unmerged logits: max |diff| %.3g (max |logit| %.3g; the adapters moved them"
                + " by up to %.3g)%n", worst, largest, moved);
        assertTrue(moved > 1e-2, "the adapters change the output");
        assertTrue(worst <= 1e-5 * Math.max(1, largest), "merged differs from unmerged by " + worst);
    }

    private static int[] shapeOf(LlamaConfig config, String name, float[] v) {
        if (name.endsWith("norm.weight")) return new int[] {v.length};
        int cols = name.endsWith("w2.weight") ? config.hiddenDim() : config.dim();
        return new int[] {v.length / cols, cols};
    }
}
