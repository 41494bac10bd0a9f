package dev.jllama.data.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import org.junit.jupiter.api.Test;

/** How an input's format follows its file name, and how an input argument names its source. */
class InputNamingTest {

    @Test
    void formatFollowsTheFileName() throws IOException {
        assertEquals(InputFormat.PARQUET, InputFormat.of("hdfs://nn/t/part-0.parquet"));
        assertEquals(InputFormat.ORC, InputFormat.of("/t/x.ORC"));
        assertEquals(InputFormat.WET, InputFormat.of("/cc/CC-MAIN-1.warc.wet.gz"));
        assertEquals(InputFormat.WET, InputFormat.of("/cc/one.wet"));
        assertEquals(InputFormat.JSON_LINES, InputFormat.of("/a/b.jsonl"));
        assertEquals(InputFormat.COMPRESSED_JSON_LINES, InputFormat.of("/a/b.ndjson.zst"));
        assertEquals(InputFormat.JSON_LINES, InputFormat.of("/a/b.json.bz2"), "bzip2 splits at its blocks");
        assertEquals(InputFormat.COMPRESSED_JSON_LINES, InputFormat.of("/a/b.jsonl.gz"));
        assertEquals(InputFormat.TEXT, InputFormat.of("/a/notes.txt.bz2"));
        assertEquals(InputFormat.TEXT, InputFormat.of("/a/README"));
        for (String unread : new String[] {"/a/t.parquet.gz", "/a/notes.txt.zst", "/cc/x.warc.wet.bz2"}) {
            IOException e = assertThrows(IOException.class, () -> InputFormat.of(unread), unread);
            assertTrue(e.getMessage().startsWith("input " + unread + ": "), e.getMessage());
        }
    }

    @Test
    void aSourceIsTheGivenNameOrThePathsLastNameWithoutExtensions() {
        assertEquals(new DocumentInput.Input("wiki", "/data/en/*.parquet"), DocumentInput.Input.parse("wiki=/data/en/*.parquet"));
        assertEquals(new DocumentInput.Input("wiki", "/data/wiki/"), DocumentInput.Input.parse("/data/wiki/"));
        assertEquals(new DocumentInput.Input("c4-train.00001", "hdfs://nn:8020/c4/c4-train.00001.jsonl.zst"),
                DocumentInput.Input.parse("hdfs://nn:8020/c4/c4-train.00001.jsonl.zst"));
        assertEquals(new DocumentInput.Input("CC-MAIN-1", "CC-MAIN-1.warc.wet.gz"), DocumentInput.Input.parse("CC-MAIN-1.warc.wet.gz"));
        // A '=' inside a path is not a name: a name holds no '/' or ':'.
        assertEquals(new DocumentInput.Input("dt=2024-01-01", "/warehouse/t/dt=2024-01-01"),
                DocumentInput.Input.parse("/warehouse/t/dt=2024-01-01"));
        assertEquals("/x/y.jsonl", PrepareOptions.inputPath("books=/x/y.jsonl"));
    }
}
