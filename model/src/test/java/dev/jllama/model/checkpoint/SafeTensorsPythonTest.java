package dev.jllama.model.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.jllama.model.Initializer;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.Parameters;
import dev.jllama.model.backend.Tensor;
import dev.jllama.model.backend.cpu.CpuBackend;
import dev.jllama.model.optim.AdamW;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Our safetensors files through the reference implementation, Hugging Face's {@code safetensors} package: it reads
 * what we write (checkpoints included) to the same values, and we read what it writes. Needs a Python with
 * safetensors and numpy named by JLLAMA_SAFETENSORS_PYTHON; .ci/run makes one and sets it.
 */
class SafeTensorsPythonTest {
    static final String PYTHON_VARIABLE = "JLLAMA_SAFETENSORS_PYTHON";
    private static final Path SCRIPT = Path.of("src/test/python/safetensors_check.py");
    /** Python's json writes NaN and Infinity for such floats: read them rather than fail on them. */
    private static final ObjectMapper JSON = JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

    @TempDir
    Path dir;

    @BeforeAll
    static void needsPython() {
        assumeTrue(System.getenv(PYTHON_VARIABLE) != null, PYTHON_VARIABLE + " is not set: no Python with the "
                + "safetensors package to cross-check against (.ci/run creates one)");
    }

    private static String python(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(System.getenv(PYTHON_VARIABLE), SCRIPT.toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out;
        try (InputStream in = p.getInputStream()) {
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertEquals(true, p.waitFor(120, TimeUnit.SECONDS), "safetensors_check.py timed out");
        assertEquals(0, p.exitValue(), "safetensors_check.py " + String.join(" ", args) + " failed");
        return out;
    }

    private static JsonNode readWithPython(Path file) throws IOException, InterruptedException {
        return JSON.readTree(python("read", file.toString()));
    }

    private static void assertSameTensor(String name, int[] shape, float[] values, JsonNode tensor) {
        assertEquals("float32", tensor.get("dtype").asText(), name);
        assertEquals(JSON.valueToTree(shape), tensor.get("shape"), name);
        float[] read = new float[tensor.get("values").size()];
        for (int i = 0; i < read.length; i++) read[i] = (float) tensor.get("values").get(i).asDouble();
        assertArrayEquals(values, read, name);
    }

    @Test
    void referenceReaderGetsOurTensorsAndMetadata() throws Exception {
        Path file = dir.resolve("ours.safetensors");
        try (OutputStream out = Files.newOutputStream(file)) {
            SafeTensors.write(out, SafeTensorsTest.ENTRIES, Map.of("format", "pt", "step", "7"));
        }
        JsonNode read = readWithPython(file);
        assertEquals(JSON.readTree("{\"format\": \"pt\", \"step\": \"7\"}"), read.get("metadata"));
        JsonNode tensors = read.get("tensors");
        assertEquals(SafeTensorsTest.ENTRIES.size(), tensors.size());
        for (SafeTensors.Entry e : SafeTensorsTest.ENTRIES) assertSameTensor(e.name(), e.shape(), e.data(), tensors.get(e.name()));
    }

    @Test
    void referenceReaderGetsACheckpointsWeightsAndMoments() throws Exception {
        LlamaConfig config = new LlamaConfig(32, 2, 4, 2, 64, 64, 1e-5f, 10000f, 16, false);
        CheckpointStore store = new CheckpointStore(dir.resolve("checkpoints").toString(), new Configuration());
        try (CpuBackend backend = new CpuBackend(1);
             LlamaModel model = new LlamaModel(config, backend);
             AdamW optimizer = new AdamW(backend, model.parameters(), AdamW.Hyper.LLAMA)) {
            Initializer.initialize(model, 3);
            // Distinct first and second moments, so that swapping them or their names shows.
            List<Parameters.Param> params = model.parameters().all();
            for (int i = 0; i < params.size(); i++) {
                fill(backend, optimizer.firstMoments().get(i), i + 1);
                fill(backend, optimizer.secondMoments().get(i), -(i + 1));
            }
            String saved = store.save(new TrainingState(config, 4, 3, 0, 0, List.of(), null), model, optimizer.download(), null, 1);
            Path checkpoint = Path.of(URI.create(saved));
            JsonNode weights = readWithPython(checkpoint.resolve(CheckpointStore.MODEL_FILE));
            JsonNode moments = readWithPython(checkpoint.resolve(CheckpointStore.OPTIMIZER_FILE));
            assertEquals("pt", weights.get("metadata").get("format").asText());
            assertEquals("4", weights.get("metadata").get("step").asText());
            assertEquals(params.size(), weights.get("tensors").size());
            assertEquals(2 * params.size(), moments.get("tensors").size());
            List<String> fileOrder = new ArrayList<>();
            for (Iterator<String> it = weights.get("tensors").fieldNames(); it.hasNext(); ) fileOrder.add(it.next());
            assertEquals(params.stream().map(Parameters.Param::name).sorted().toList(), fileOrder.stream().sorted().toList());
            for (int i = 0; i < params.size(); i++) {
                Parameters.Param p = params.get(i);
                assertSameTensor(p.name(), p.shape(), download(backend, p.value()), weights.get("tensors").get(p.name()));
                assertSameTensor("m." + p.name(), p.shape(), download(backend, optimizer.firstMoments().get(i)),
                        moments.get("tensors").get("m." + p.name()));
                assertSameTensor("v." + p.name(), p.shape(), download(backend, optimizer.secondMoments().get(i)),
                        moments.get("tensors").get("v." + p.name()));
            }
        }
    }

    @Test
    void weReadWhatTheReferenceWriterWrites() throws Exception {
        Path file = dir.resolve("theirs.safetensors");
        python("write", file.toString());
        Map<String, SafeTensors.Entry> read;
        try (InputStream in = Files.newInputStream(file)) {
            read = SafeTensors.read(in, file.toString());
        }
        float[] ramp = new float[12];
        for (int i = 0; i < ramp.length; i++) ramp[i] = i * 0.5f - 1f;
        assertArrayEquals(new int[] {3, 4}, read.get("ramp").shape());
        assertArrayEquals(ramp, read.get("ramp").data());
        assertArrayEquals(new float[] {1e-38f, -0f, Float.MAX_VALUE, 1f / 3, -7.25f, Float.MIN_VALUE}, read.get("specials").data());
        assertArrayEquals(new int[] {1, 1}, read.get("scalar_like").shape());
        assertArrayEquals(new float[] {42f}, read.get("scalar_like").data());
    }

    private static void fill(CpuBackend backend, Tensor t, int seed) {
        float[] values = new float[t.size()];
        for (int i = 0; i < values.length; i++) values[i] = seed * 1e-3f + i * 1e-7f;
        backend.write(t, 0, values, 0, values.length);
    }

    private static float[] download(CpuBackend backend, Tensor t) {
        float[] host = new float[t.size()];
        backend.read(t, 0, host, 0, host.length);
        return host;
    }
}
