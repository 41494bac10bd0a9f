package dev.jllama.data.shard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

class ShardHeaderTest {

    @Test
    void uint16ShardIsByteForByteTheLlmcLayout() throws IOException {
        int[] tokens = {0, 1, 50256, 65535, 7};
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ShardWriter w = new ShardWriter(out, "mem", TokenWidth.UINT16, tokens.length, 65536, 1 << 20);
        w.write(tokens, 0, tokens.length);
        ShardInfo info = w.finish("mem");
        byte[] b = out.toByteArray();
        assertEquals(1024 + 2 * tokens.length, b.length);
        assertEquals(b.length, info.bytes());
        // What llm.c's write_datafile produces: int32 header[256] = {20240520, 1, n, ...}, then uint16 tokens.
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(20240520, bb.getInt(0));
        assertEquals(1, bb.getInt(4));
        assertEquals(tokens.length, bb.getInt(8));
        for (int i = 4 * 4; i < 1024; i += 4) {
            if (i != 12) assertEquals(0, bb.getInt(i), "header word " + i / 4);
        }
        for (int i = 0; i < tokens.length; i++) assertEquals(tokens[i], Short.toUnsignedInt(bb.getShort(1024 + 2 * i)));
    }

    @Test
    void llmcHeadersAreAccepted() throws IOException {
        byte[] gpt2 = new byte[1024];
        ByteBuffer.wrap(gpt2).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 20240520).putInt(4, 1).putInt(8, 99);
        ShardHeader h = ShardHeader.decode(gpt2, "gpt2.bin");
        assertEquals(TokenWidth.UINT16, h.width());
        assertEquals(99, h.tokens());
        byte[] llama3 = new byte[1024];
        ByteBuffer.wrap(llama3).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 20240801).putInt(4, 7).putInt(8, 5);
        assertEquals(TokenWidth.UINT32, ShardHeader.decode(llama3, "l3.bin").width());
    }

    @Test
    void badHeadersNameFileAndOffset() {
        byte[] b = ShardHeader.of(TokenWidth.UINT32, 3).encode();
        b[0] ^= 1;
        IOException e = assertThrows(IOException.class, () -> ShardHeader.decode(b, "x.bin"));
        assertTrue(e.getMessage().contains("x.bin") && e.getMessage().contains("byte offset 0"), e.getMessage());
        byte[] c = ShardHeader.of(TokenWidth.UINT32, 3).encode();
        c[4] = 9;
        e = assertThrows(IOException.class, () -> ShardHeader.decode(c, "y.bin"));
        assertTrue(e.getMessage().contains("version 9 at byte offset 4"), e.getMessage());
        e = assertThrows(IOException.class, () -> ShardHeader.decode(new byte[100], "z.bin"));
        assertTrue(e.getMessage().contains("z.bin is truncated"), e.getMessage());
    }

    @Test
    void writerRejectsWrongCountsAndIdsOutsideTheVocabulary() throws IOException {
        ShardWriter w = new ShardWriter(new ByteArrayOutputStream(), "m", TokenWidth.UINT16, 2, 10, 64);
        assertThrows(IOException.class, () -> w.write(new int[] {10}, 0, 1));
        w.write(new int[] {9}, 0, 1);
        IOException e = assertThrows(IOException.class, () -> w.finish("m"));
        assertTrue(e.getMessage().contains("1 tokens written, header announced 2"), e.getMessage());
    }

    @Test
    void uint32ShardHoldsLittleEndianIntsAndRawWritesCheckTheirLength() throws IOException {
        int[] tokens = {0, 65536, 69_999, 12};
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ShardWriter w = new ShardWriter(out, "wide", TokenWidth.UINT32, 6, 70_000, 1 << 20);
        w.write(tokens, 1, 2);
        byte[] raw = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putInt(5).putInt(6).putInt(7).putInt(8).array();
        IOException partial = assertThrows(IOException.class, () -> w.writeRaw(raw, 0, 6));
        assertTrue(partial.getMessage().contains("not whole tokens"), partial.getMessage());
        w.writeRaw(raw, 4, 8);
        IOException tooMany = assertThrows(IOException.class, () -> w.writeRaw(raw, 0, 12));
        assertTrue(tooMany.getMessage().contains("more than the announced 6"), tooMany.getMessage());
        w.write(tokens, 3, 1);
        w.write(tokens, 0, 1);
        ShardInfo info = w.finish("wide.bin");
        byte[] b = out.toByteArray();
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(List.of(20240520, 2, 6, 4), List.of(bb.getInt(0), bb.getInt(4), bb.getInt(8), bb.getInt(12)));
        int[] read = new int[6];
        for (int i = 0; i < 6; i++) read[i] = bb.getInt(1024 + 4 * i);
        assertArrayEquals(new int[] {65536, 69_999, 6, 7, 12, 0}, read);
        assertEquals(6, info.tokens());
        assertEquals(1024 + 24, info.bytes());
        assertEquals(ShardHeader.of(TokenWidth.UINT32, 6), ShardHeader.decode(b, "wide.bin"));
    }

    @Test
    void writerRefusesNegativeIdsAndShardsBeyondTheHeadersTokenCount() throws IOException {
        ShardWriter w = new ShardWriter(new ByteArrayOutputStream(), "m", TokenWidth.UINT32, 1, 100_000, 64);
        IOException e = assertThrows(IOException.class, () -> w.write(new int[] {-1}, 0, 1));
        assertTrue(e.getMessage().contains("token -1 outside the vocabulary of 100000"), e.getMessage());
        long limit = ShardHeader.MAX_TOKENS; // the header's int32 token count; readers hold blocks, not whole shards
        IllegalArgumentException big = assertThrows(IllegalArgumentException.class,
                () -> new ShardWriter(new ByteArrayOutputStream(), "big", TokenWidth.UINT16, limit + 1, 10, 64));
        assertTrue(big.getMessage().contains("exceed the per-shard limit"), big.getMessage());
        new ShardWriter(new ByteArrayOutputStream(), "at-limit", TokenWidth.UINT16, limit, 10, 64);
        assertEquals(1024 + 2L * 7, ShardHeader.of(TokenWidth.UINT16, 7).fileBytes());
        assertThrows(IllegalArgumentException.class, () -> ShardHeader.of(TokenWidth.UINT16, -1));
    }

    @Test
    void blockChecksumsAreCrc32cOfEachBlockAndOfTheWholeFile() {
        Crc32cBlocks c = new Crc32cBlocks(4);
        byte[] check = "123456789".getBytes(StandardCharsets.US_ASCII);
        c.update(check, 0, 3);
        c.update(check, 3, 6);
        // CRC-32C check value of "123456789" (RFC 3720, the iSCSI polynomial), as 8 lowercase hex digits.
        assertEquals("e3069283", c.crc32c());
        assertEquals(9, c.bytes());
        assertEquals(List.of(crc32c("1234"), crc32c("5678"), crc32c("9")), c.blockCrcs());
        assertEquals("00000000", new Crc32cBlocks(8).crc32c(), "CRC-32C of nothing");
        assertEquals("0000000a", Crc32cBlocks.hex(10), "zero-padded");
    }

    @Test
    void shardEntryChecksumsTheBytesOnDisk() throws IOException {
        int[] tokens = new int[700];
        for (int i = 0; i < tokens.length; i++) tokens[i] = (i * 37) % 1000;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ShardWriter w = new ShardWriter(out, "mem", TokenWidth.UINT16, tokens.length, 1000, 1000);
        w.write(tokens, 0, 300);
        w.write(tokens, 300, 400);
        ShardInfo info = w.finish("train-00000.bin");
        byte[] file = out.toByteArray();
        assertEquals(1024 + 1400, file.length);
        assertEquals(crc32c(file, 0, file.length), info.crc32c());
        assertEquals(List.of(crc32c(file, 0, 1000), crc32c(file, 1000, 1000), crc32c(file, 2000, 424)), info.blockCrc32c());
    }

    @Test
    void blocksEndingExactlyAtTheFileEndAddNoEmptyBlock() {
        Crc32cBlocks c = new Crc32cBlocks(4);
        c.update(new byte[8], 0, 8);
        assertEquals(List.of(crc32c(new byte[4], 0, 4), crc32c(new byte[4], 0, 4)), c.blockCrcs());
        assertEquals(List.of(crc32c("x")), single("x"));
        assertThrows(IllegalArgumentException.class, () -> new Crc32cBlocks(0));
    }

    @Test
    void chunkChecksumsAreTheJdksCrc32cOfEachChunkAndCombineIntoTheBlocks() {
        byte[] data = new byte[2500];
        new java.util.Random(7).nextBytes(data);
        Crc32cBlocks c = new Crc32cBlocks(1000, 250);
        c.update(data, 0, 1234);
        c.update(data, 1234, data.length - 1234);
        java.nio.ByteBuffer chunks = java.nio.ByteBuffer.wrap(c.chunkCrcs());
        assertEquals(40, chunks.capacity(), "10 chunks of 4 bytes");
        for (int i = 0; i < 10; i++) assertEquals(crc32c(data, 250 * i, 250), String.format("%08x", chunks.getInt(4 * i)));
        for (int[] split : new int[][] {{0, 2500}, {1, 2499}, {1000, 1500}, {2499, 1}, {2500, 0}, {37, 1}}) {
            long a = Long.parseLong(crc32c(data, 0, split[0]), 16);
            long b = Long.parseLong(crc32c(data, split[0], split[1]), 16);
            assertEquals(crc32c(data, 0, split[0] + split[1]), Crc32cBlocks.hex(Crc32cBlocks.combine(a, b, split[1])),
                    "combine at " + split[0] + " + " + split[1]);
        }
        assertThrows(IllegalArgumentException.class, () -> new Crc32cBlocks(1000, 300));
    }

    private static List<String> single(String ascii) {
        Crc32cBlocks one = new Crc32cBlocks(1);
        byte[] b = ascii.getBytes(StandardCharsets.US_ASCII);
        one.update(b, 0, b.length);
        return one.blockCrcs();
    }

    @Test
    void tokenWidthIsTheNarrowestThatHoldsTheVocabulary() {
        assertEquals(TokenWidth.UINT16, TokenWidth.forVocabulary(1));
        assertEquals(TokenWidth.UINT16, TokenWidth.forVocabulary(65_536));
        assertEquals(TokenWidth.UINT32, TokenWidth.forVocabulary(65_537));
        assertThrows(IllegalArgumentException.class, () -> TokenWidth.forVocabulary(0));
        assertEquals(TokenWidth.UINT16, TokenWidth.ofBytes(2));
        assertEquals(TokenWidth.UINT32, TokenWidth.ofBytes(4));
        assertThrows(IllegalArgumentException.class, () -> TokenWidth.ofBytes(3));
    }

    private static String crc32c(String ascii) {
        byte[] b = ascii.getBytes(StandardCharsets.US_ASCII);
        return crc32c(b, 0, b.length);
    }

    /** Independent of Crc32cBlocks: the JDK's CRC32C over one range, formatted as the manifest stores it. */
    private static String crc32c(byte[] data, int off, int len) {
        CRC32C crc = new CRC32C();
        crc.update(data, off, len);
        return String.format("%08x", crc.getValue());
    }
}
