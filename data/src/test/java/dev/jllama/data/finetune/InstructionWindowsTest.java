package dev.jllama.data.finetune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.data.shard.RankSlice;
import dev.jllama.data.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InstructionWindowsTest {
    private static final Tokenizer TOK = Tokenizer.bundled();
    private static final Configuration CONF = new Configuration();

    @TempDir
    Path tmp;

    private Path file(String name, String... lines) throws IOException {
        Path p = tmp.resolve(name);
        Files.write(p, List.of(lines));
        return p;
    }

    private static int[] concat(int[]... parts) {
        return Arrays.stream(parts).flatMapToInt(Arrays::stream).toArray();
    }

    private static int start() {
        return TOK.bosId() >= 0 ? TOK.bosId() : TOK.eosId();
    }

    @Test
    void llama2TemplateRendersSystemUserAndAssistantTurns() {
        ChatTemplate t = ChatTemplate.llama2();
        List<ChatTemplate.Message> chat = List.of(new ChatTemplate.Message("system", "Be brief."),
                new ChatTemplate.Message("user", "Name a colour."), new ChatTemplate.Message("assistant", "Blue."),
                new ChatTemplate.Message("user", "Another?"), new ChatTemplate.Message("assistant", "Red."));
        ChatTemplate.Rendered r = t.render(chat, TOK);
        int[] first = TOK.encode("[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nName a colour. [/INST]");
        int[] blue = TOK.encode("Blue.");
        int[] second = TOK.encode("[INST] Another? [/INST]");
        int[] red = TOK.encode("Red.");
        int[] expected = concat(new int[] {start()}, first, blue, new int[] {TOK.eosId(), start()}, second, red,
                new int[] {TOK.eosId()});
        assertArrayEquals(expected, r.tokens());
        for (int i = 0; i < expected.length; i++) {
            int a = 1 + first.length, b = a + blue.length + 1, c = b + 1 + second.length;
            boolean response = (i >= a && i < b) || i >= c;
            assertEquals(response, r.response()[i], "token " + i);
        }
        // The generation prompt is the conversation up to its last user turn.
        int[] prompt = t.generationPrompt(chat.subList(0, 4), TOK);
        assertArrayEquals(Arrays.copyOf(expected, 1 + first.length + blue.length + 2 + second.length), prompt);
    }

    @Test
    void formatsAreDetectedAndOnlyResponsesCount() throws IOException {
        Path alpaca = file("a.jsonl", "{\"instruction\": \"Add the numbers.\", \"input\": \"2 and 3\", \"output\": \"5\"}",
                "", "{\"instruction\": \"Say hi.\", \"output\": \"Hi there.\"}");
        Path pc = file("p.jsonl", "{\"prompt\": \"The sky is\", \"completion\": \" blue today.\"}");
        Path msgs = file("m.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"Hello\"},"
                + " {\"role\": \"assistant\", \"content\": \"Hello to you.\"}]}");
        int seq = 64;
        InstructionWindows.Prepared p = InstructionWindows.prepare(List.of(alpaca.toString(), pc.toString(),
                msgs.toString()), null, ChatTemplate.llama2(), TOK, seq, false, CONF);
        InstructionWindows.Report report = p.report();
        assertEquals(4, report.examples());
        assertEquals(4, report.windows());
        assertEquals(0, report.truncated());
        assertEquals(java.util.Map.of("alpaca", 2, "prompt-completion", 1, "messages", 1), report.formats());
        // Window of the prompt/completion example: start, prompt, completion, EOS, then padding that never counts.
        int[] prompt = TOK.encode("The sky is"), completion = TOK.encode(" blue today.");
        int[] tokens = new int[(seq + 1)];
        boolean[] mask = new boolean[seq];
        p.windows().copy(2, tokens, 0, mask, 0);
        int[] expected = concat(new int[] {start()}, prompt, completion, new int[] {TOK.eosId()});
        assertArrayEquals(expected, Arrays.copyOf(tokens, expected.length));
        for (int t = 0; t < seq; t++) {
            boolean counts = t + 1 >= 1 + prompt.length && t + 1 < expected.length;
            assertEquals(counts, mask[t], "target " + t);
        }
        long counted = 0;
        for (int w = 0; w < 4; w++) {
            p.windows().copy(w, tokens, 0, mask, 0);
            for (boolean b : mask) if (b) counted++;
        }
        assertEquals(report.countedTargets(), counted);

        // --train-on-prompt counts every target of the example, still not the padding.
        InstructionWindows.Prepared all = InstructionWindows.prepare(List.of(pc.toString()), null,
                ChatTemplate.llama2(), TOK, seq, true, CONF);
        all.windows().copy(0, tokens, 0, mask, 0);
        for (int t = 0; t < seq; t++) assertEquals(t + 1 < expected.length, mask[t], "target " + t);
    }

    @Test
    void longExamplesAreTruncatedAndCountedAndOnesWithoutResponseDropped() throws IOException {
        String longOutput = String.join(" ", java.util.Collections.nCopies(80, "word"));
        Path f = file("long.jsonl", "{\"prompt\": \"Short prompt\", \"completion\": \"" + longOutput + "\"}",
                "{\"prompt\": \"" + longOutput + "\", \"completion\": \"lost\"}",
                "{\"prompt\": \"Fine\", \"completion\": \"yes\"}");
        InstructionWindows.Prepared p = InstructionWindows.prepare(List.of(f.toString()), null, ChatTemplate.llama2(),
                TOK, 32, false, CONF);
        assertEquals(3, p.report().examples());
        assertEquals(2, p.report().truncated());
        assertEquals(1, p.report().dropped());
        assertEquals(2, p.report().windows());
    }

    @Test
    void badRecordsNameTheFileAndLine() throws IOException {
        Path f = file("bad.jsonl", "{\"prompt\": \"a\", \"completion\": \"b\"}", "{\"prompt\": \"a\", \"completion\": 3}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> InstructionWindows.prepare(
                List.of(f.toString()), null, ChatTemplate.llama2(), TOK, 32, false, CONF));
        assertEquals(f + ":2: field 'completion' must be a string", e.getMessage());
        Path g = file("unknown.jsonl", "{\"text\": \"a\"}");
        e = assertThrows(IllegalArgumentException.class, () -> InstructionWindows.prepare(List.of(g.toString()), null,
                ChatTemplate.llama2(), TOK, 32, false, CONF));
        assertTrue(e.getMessage().startsWith(g + ":1: cannot tell the format from fields [text]"), e.getMessage());
        Path h = file("roles.jsonl", "{\"messages\": [{\"role\": \"assistant\", \"content\": \"x\"}]}");
        e = assertThrows(IllegalArgumentException.class, () -> InstructionWindows.prepare(List.of(h.toString()), null,
                ChatTemplate.llama2(), TOK, 32, false, CONF));
        assertTrue(e.getMessage().startsWith(h + ":1: message 1 has role 'assistant', expected 'user'"), e.getMessage());
        Path template = file("t.json", "{\"format\": \"jllama-chat-template\", \"version\": 1, \"system\": \"{content}\","
                + " \"user\": \"no placeholder\", \"assistant\": \"{content}\", \"bos_each_turn\": true,"
                + " \"eos_after_assistant\": true}");
        e = assertThrows(IllegalArgumentException.class, () -> ChatTemplate.load(template));
        assertEquals("chat template " + template + ": field 'user' must contain {content}, got 'no placeholder'",
                e.getMessage());
    }

    @Test
    void writtenWindowsReadBackAndRanksSplitTheShuffledStream() throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 10; i++) lines.add("{\"prompt\": \"Question " + i + "\", \"completion\": \"Answer " + i + "\"}");
        Path f = file("ten.jsonl", lines.toArray(String[]::new));
        InstructionWindows w = InstructionWindows.prepare(List.of(f.toString()), null, ChatTemplate.llama2(), TOK, 16,
                false, CONF).windows();
        String out = tmp.resolve("examples.bin").toString();
        w.write(out, CONF);
        InstructionWindows back = InstructionWindows.read(out, CONF);
        assertEquals(10, back.windows());
        for (int i = 0; i < 10; i++) {
            assertArrayEquals(w.tokens[i], back.tokens[i]);
            assertArrayEquals(w.masks[i], back.masks[i]);
        }
        // One rank reading 4 per step equals two ranks reading 2 each, over two epochs' worth of steps.
        int steps = 5, seq = 16;
        int[] one = new int[steps * 4 * (seq + 1)];
        boolean[] oneMask = new boolean[steps * 4 * seq];
        InstructionWindows.Reader single = back.reader(7, new RankSlice(0, 1, 4), null);
        for (int s = 0; s < steps; s++) {
            int[] t = new int[4 * (seq + 1)];
            boolean[] m = new boolean[4 * seq];
            single.next(t, m, 4);
            System.arraycopy(t, 0, one, s * t.length, t.length);
        }
        assertEquals("windows=20", single.position());
        InstructionWindows.Reader r0 = back.reader(7, new RankSlice(0, 2, 2), null);
        InstructionWindows.Reader r1 = back.reader(7, new RankSlice(1, 2, 2), null);
        for (int s = 0; s < steps; s++) {
            int[] a = new int[2 * (seq + 1)], b = new int[2 * (seq + 1)];
            boolean[] m = new boolean[2 * seq];
            r0.next(a, m, 2);
            r1.next(b, m, 2);
            assertArrayEquals(Arrays.copyOfRange(one, s * 4 * (seq + 1), s * 4 * (seq + 1) + a.length), a);
            assertArrayEquals(Arrays.copyOfRange(one, s * 4 * (seq + 1) + a.length, (s + 1) * 4 * (seq + 1)), b);
        }
        // Each epoch visits every example once.
        java.util.Set<String> epoch = new java.util.HashSet<>(), examples = new java.util.HashSet<>();
        for (int i = 0; i < 10; i++) {
            epoch.add(Arrays.toString(Arrays.copyOfRange(one, i * (seq + 1), (i + 1) * (seq + 1))));
            examples.add(Arrays.toString(back.tokens[i]));
        }
        assertEquals(10, examples.size());
        assertEquals(examples, epoch);
        // A resumed reader continues where the position says.
        InstructionWindows.Reader resumed = back.reader(7, new RankSlice(0, 1, 4), "windows=8");
        int[] t = new int[4 * (seq + 1)];
        resumed.next(t, new boolean[4 * seq], 4);
        assertArrayEquals(Arrays.copyOfRange(one, 2 * 4 * (seq + 1), 3 * 4 * (seq + 1)), t);
    }

    @Test
    void packedWindowsHoldSeveralExamplesWithTheirStarts() throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 7; i++) lines.add("{\"prompt\": \"Question " + i + "\", \"completion\": \"Answer " + i + "\"}");
        Path f = file("seven.jsonl", lines.toArray(String[]::new));
        int seq = 40;
        InstructionWindows padded = InstructionWindows.prepare(List.of(f.toString()), null, ChatTemplate.llama2(), TOK,
                seq, false, CONF).windows();
        InstructionWindows.Prepared p = InstructionWindows.prepare(List.of(f.toString()), null, ChatTemplate.llama2(),
                TOK, seq, false, true, CONF);
        InstructionWindows packed = p.windows();
        assertTrue(packed.packed());
        assertTrue(packed.windows() < padded.windows(), packed.windows() + " windows");
        // Every example appears once, at its start, with the same mask as alone; the target after its last token
        // (the next example's first) does not count.
        int[] lengths = new int[7];
        int[] tokens = new int[seq + 1], starts = new int[seq];
        boolean[] mask = new boolean[seq];
        for (int e = 0; e < 7; e++) {
            padded.copy(e, tokens, 0, mask, 0);
            for (int t = 0; t < seq; t++) if (mask[t]) lengths[e] = t + 2; // the last counted target is the EOS
        }
        int seen = 0;
        for (int w = 0; w < packed.windows(); w++) {
            packed.copy(w, tokens, 0, mask, 0);
            packed.copyStarts(w, starts, 0);
            int at = 0;
            while (seen < 7 && at + lengths[seen] <= seq + 1) {
                int length = lengths[seen];
                int[] alone = new int[seq + 1];
                boolean[] aloneMask = new boolean[seq];
                padded.copy(seen, alone, 0, aloneMask, 0);
                for (int j = 0; j < length; j++) {
                    assertEquals(alone[j], tokens[at + j], "window " + w + " token " + (at + j));
                    if (at + j < seq) assertEquals(at, starts[at + j], "window " + w + " start at " + (at + j));
                    if (j + 1 < length) assertEquals(aloneMask[j], mask[at + j], "window " + w + " target " + (at + j));
                }
                if (at + length - 1 < seq) assertFalse(mask[at + length - 1], "a target across examples counts");
                seen++;
                at += length;
            }
            assertTrue(at > 0, "window " + w + " holds an example");
        }
        assertEquals(7, seen);
        long counted = 0;
        for (int w = 0; w < packed.windows(); w++) {
            packed.copy(w, tokens, 0, mask, 0);
            for (boolean b : mask) if (b) counted++;
        }
        assertEquals(p.report().countedTargets(), counted);
        String out = tmp.resolve("packed.bin").toString();
        packed.write(out, CONF);
        InstructionWindows back = InstructionWindows.read(out, CONF);
        assertTrue(back.packed());
        for (int w = 0; w < packed.windows(); w++) assertArrayEquals(packed.starts[w], back.starts[w]);
    }
}
