package dev.jllama.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.model.backend.cpu.CpuBackend;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The initial weights' statistics: N(0, 0.02), residual projections scaled by 1/sqrt(2 layers), gains 1. */
class InitializerTest {
    private static final LlamaConfig CONFIG = new LlamaConfig(64, 4, 4, 2, 512, 192, 1e-5f, 10000f, 32, false);

    private static Map<String, float[]> initialWeights(LlamaConfig config, long seed) {
        Map<String, float[]> weights = new LinkedHashMap<>();
        try (CpuBackend backend = new CpuBackend(1); LlamaModel model = new LlamaModel(config, backend)) {
            Initializer.initialize(model, seed);
            for (Parameters.Param p : model.parameters().all()) {
                float[] host = new float[p.size()];
                backend.read(p.value(), 0, host, 0, host.length);
                weights.put(p.name(), host);
            }
        }
        return weights;
    }

    private static double mean(float[] v) {
        double s = 0;
        for (float x : v) s += x;
        return s / v.length;
    }

    private static double std(float[] v) {
        double m = mean(v), s = 0;
        for (float x : v) s += (x - m) * (x - m);
        return Math.sqrt(s / v.length);
    }

    @Test
    void matricesAreNormalWithTheirStandardDeviationAndGainsAreOne() {
        double residualStd = 0.02 / Math.sqrt(2 * CONFIG.layers());
        for (Map.Entry<String, float[]> e : initialWeights(CONFIG, 11).entrySet()) {
            String name = e.getKey();
            float[] v = e.getValue();
            if (name.endsWith("norm.weight")) {
                for (float x : v) assertEquals(1f, x, name);
                continue;
            }
            boolean residual = name.endsWith("attention.wo.weight") || name.endsWith("feed_forward.w2.weight");
            double expected = residual ? residualStd : 0.02;
            // Sampling error of n normal values: sigma/sqrt(n) for the mean, sigma/sqrt(2n) for the std; 5 of each.
            assertEquals(0, mean(v), 5 * expected / Math.sqrt(v.length), name + " mean");
            assertEquals(expected, std(v), 5 * expected / Math.sqrt(2.0 * v.length), name + " std");
        }
    }

    @Test
    void sameSeedSameWeightsOtherSeedOthers() {
        Map<String, float[]> a = initialWeights(CONFIG, 5);
        Map<String, float[]> b = initialWeights(CONFIG, 5);
        Map<String, float[]> c = initialWeights(CONFIG, 6);
        for (String name : a.keySet()) {
            assertArrayEquals(a.get(name), b.get(name), name);
            if (!name.endsWith("norm.weight")) assertFalse(Arrays.equals(a.get(name), c.get(name)), name);
        }
        // Tensors are not copies of each other.
        assertFalse(Arrays.equals(a.get("layers.0.attention.wq.weight"), a.get("layers.1.attention.wq.weight")));
        assertFalse(Arrays.equals(a.get("layers.0.feed_forward.w1.weight"), a.get("layers.0.feed_forward.w3.weight")));
    }

    @Test
    void aTensorsValuesDependOnlyOnTheSeedAndItsName() {
        // A deeper model holds the same first layers; its residual projections differ only by the depth scale.
        LlamaConfig deeper = new LlamaConfig(64, 8, 4, 2, 512, 192, 1e-5f, 10000f, 32, true);
        Map<String, float[]> shallow = initialWeights(CONFIG, 9);
        Map<String, float[]> deep = initialWeights(deeper, 9);
        assertArrayEquals(shallow.get("tok_embeddings.weight"), deep.get("tok_embeddings.weight"));
        assertArrayEquals(shallow.get("layers.3.attention.wk.weight"), deep.get("layers.3.attention.wk.weight"));
        float[] wo4 = shallow.get("layers.1.attention.wo.weight");
        float[] wo8 = deep.get("layers.1.attention.wo.weight");
        for (int i = 0; i < wo4.length; i++) assertEquals(wo4[i] * Math.sqrt(0.5), wo8[i], 1e-6 * Math.abs(wo4[i]) + 1e-9);
    }

    @Test
    void boxMullerSamplesAreStandardNormal() {
        float[] v = new float[1_000_001]; // odd: the last value comes from a pair's first half
        Initializer.fillNormal(v, new SplittableRandom(1), 1.0);
        int within1 = 0, within2 = 0;
        double fourth = 0;
        for (float x : v) {
            if (Math.abs(x) < 1) within1++;
            if (Math.abs(x) < 2) within2++;
            fourth += Math.pow(x, 4);
        }
        assertEquals(0, mean(v), 0.005);
        assertEquals(1, std(v), 0.005);
        assertEquals(0.6827, within1 / (double) v.length, 0.003);
        assertEquals(0.9545, within2 / (double) v.length, 0.002);
        assertEquals(3.0, fourth / v.length, 0.05, "kurtosis of a normal distribution");
        assertTrue(v[v.length - 1] != 0f, "the odd last element is filled");
    }
}
