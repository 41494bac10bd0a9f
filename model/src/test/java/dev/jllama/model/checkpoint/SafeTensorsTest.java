package dev.jllama.model.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The bytes of our safetensors files, as the format's specification lays them out. */
class SafeTensorsTest {

    static final List<SafeTensors.Entry> ENTRIES = List.of(
            new SafeTensors.Entry("b.weight", new int[] {2, 3}, new float[] {1f, -2.5f, 3e-38f, -0f, Float.MAX_VALUE, 1f / 3}),
            new SafeTensors.Entry("a.norm", new int[] {1}, new float[] {0.125f}));

    private static byte[] write(List<SafeTensors.Entry> entries, Map<String, String> metadata) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        SafeTensors.write(out, entries, metadata);
        return out.toByteArray();
    }

    @Test
    void layoutIsLittleEndianLengthAlignedJsonHeaderThenLittleEndianFloats() throws IOException {
        byte[] file = write(ENTRIES, Map.of("format", "pt"));
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        long headerLength = b.getLong(0);
        assertEquals(0, (8 + headerLength) % 8, "data starts 8-byte aligned");
        assertEquals(8 + headerLength + 4 * 7, file.length);
        String headerText = new String(file, 8, (int) headerLength, StandardCharsets.UTF_8);
        assertEquals(headerText.strip(), headerText.substring(0, headerText.strip().length()), "padding is trailing spaces");
        assertTrue(headerText.length() - headerText.strip().length() < 8, "at most 7 spaces of padding");
        JsonNode header = new ObjectMapper().readTree(headerText);
        assertEquals("pt", header.get("__metadata__").get("format").asText());
        assertEquals("F32", header.get("b.weight").get("dtype").asText());
        assertEquals("[2,3]", header.get("b.weight").get("shape").toString());
        assertEquals("[0,24]", header.get("b.weight").get("data_offsets").toString());
        assertEquals("[24,28]", header.get("a.norm").get("data_offsets").toString());
        int data = (int) (8 + headerLength);
        float[] all = {1f, -2.5f, 3e-38f, -0f, Float.MAX_VALUE, 1f / 3, 0.125f};
        for (int i = 0; i < all.length; i++) {
            assertEquals(Float.floatToRawIntBits(all[i]), b.getInt(data + 4 * i), "float " + i + " little-endian");
        }
        // The first float, 1.0f = 0x3F800000, byte by byte.
        assertArrayEquals(new byte[] {0, 0, (byte) 0x80, 0x3F}, Arrays.copyOfRange(file, data, data + 4));
    }

    @Test
    void readsBackWhatItWrites() throws IOException {
        Map<String, SafeTensors.Entry> read = SafeTensors.read(new ByteArrayInputStream(write(ENTRIES, Map.of())), "mem");
        assertEquals(List.of("b.weight", "a.norm"), List.copyOf(read.keySet()));
        for (SafeTensors.Entry e : ENTRIES) {
            assertArrayEquals(e.shape(), read.get(e.name()).shape());
            assertArrayEquals(e.data(), read.get(e.name()).data());
        }
    }

    @Test
    void tensorsLargerThanTheWriteBufferRoundTrip() throws IOException {
        float[] big = new float[100_003];
        for (int i = 0; i < big.length; i++) big[i] = i * 0.25f - 7f;
        List<SafeTensors.Entry> entries = List.of(new SafeTensors.Entry("big", new int[] {big.length}, big), ENTRIES.get(1));
        Map<String, SafeTensors.Entry> read = SafeTensors.read(new ByteArrayInputStream(write(entries, Map.of())), "mem");
        assertArrayEquals(big, read.get("big").data());
        assertArrayEquals(ENTRIES.get(1).data(), read.get("a.norm").data());
    }

    @Test
    void damagedFilesNameTheProblem() throws IOException {
        byte[] file = write(ENTRIES, Map.of());
        IOException e = assertThrows(IOException.class,
                () -> SafeTensors.read(new ByteArrayInputStream(Arrays.copyOf(file, file.length - 2)), "cut.safetensors"));
        assertTrue(e.getMessage().contains("cut.safetensors") && e.getMessage().contains("truncated"), e.getMessage());
        byte[] badLength = file.clone();
        badLength[7] = 0x7F;
        e = assertThrows(IOException.class, () -> SafeTensors.read(new ByteArrayInputStream(badLength), "len.safetensors"));
        assertTrue(e.getMessage().contains("invalid safetensors header length"), e.getMessage());
        byte[] wide = new String(file, StandardCharsets.ISO_8859_1).replace("F32", "F64").getBytes(StandardCharsets.ISO_8859_1);
        e = assertThrows(IOException.class, () -> SafeTensors.read(new ByteArrayInputStream(wide), "f64.safetensors"));
        assertTrue(e.getMessage().contains("dtype F64, only F32, F16 and BF16"), e.getMessage());
        byte[] half = new String(file, StandardCharsets.ISO_8859_1).replace("F32", "F16").getBytes(StandardCharsets.ISO_8859_1);
        e = assertThrows(IOException.class, () -> SafeTensors.read(new ByteArrayInputStream(half), "f16.safetensors"));
        assertTrue(e.getMessage().contains("shape does not match"), e.getMessage());
    }
}
