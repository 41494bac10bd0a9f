package dev.jllama.data.finetune;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.data.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * How a conversation becomes tokens, for fine-tuning and for {@code generate --chat}: a small JSON file
 * ({@code "format": "jllama-chat-template", "version": 1}) that a user can replace with {@code --chat-template}.
 * The shipped default ({@code llama2-chat.json}) is Llama-2's chat format:
 * {@code <s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {assistant} </s><s>[INST] {user} [/INST] ...}.
 *
 * <p>Fields: {@code user} (with {@code {content}}, and {@code {system}} where the rendered system message goes, in the
 * first user turn only), {@code system} (with {@code {content}}), {@code assistant} (with {@code {content}}),
 * {@code bos_each_turn} (a beginning-of-sequence token before every user turn, else before the first only) and
 * {@code eos_after_assistant} (an end-of-sequence token closes every assistant turn, which is what teaches the model
 * to stop). Each rendered text is encoded on its own ({@link Tokenizer#encode}, SentencePiece's {@code encode}, which
 * starts it with the word-boundary space); the system and user turns form the prompt, the assistant turns (with their
 * EOS) the response. A tokenizer without a BOS piece gets its EOS in that place: it is what precedes every document
 * in the datasets {@code prepare} writes.
 */
public record ChatTemplate(String source, String system, String user, String assistant, boolean bosEachTurn,
                           boolean eosAfterAssistant) {
    public static final String FORMAT = "jllama-chat-template";
    public static final int VERSION = 1;
    public static final String DEFAULT_RESOURCE = "llama2-chat.json";

    /** One message of a conversation: role {@code system}, {@code user} or {@code assistant}. */
    public record Message(String role, String content) {}

    /** The shipped Llama-2 template. */
    public static ChatTemplate llama2() {
        try (InputStream in = ChatTemplate.class.getResourceAsStream(DEFAULT_RESOURCE)) {
            if (in == null) throw new IllegalStateException("chat template resource " + DEFAULT_RESOURCE + " is missing");
            return parse(in.readAllBytes(), "classpath:dev/jllama/data/finetune/" + DEFAULT_RESOURCE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code file}, or the default when it is null. */
    public static ChatTemplate load(Path file) throws IOException {
        if (file == null) return llama2();
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new IOException("cannot read chat template " + file + ": " + e.getMessage(), e);
        }
        return parse(bytes, file.toString());
    }

    static ChatTemplate parse(byte[] json, String source) {
        JsonNode node;
        try {
            node = new ObjectMapper().readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("chat template " + source + " is not JSON: " + e.getMessage());
        }
        if (node == null || !node.isObject() || !FORMAT.equals(node.path("format").asText())) {
            throw new IllegalArgumentException("chat template " + source + ": field 'format' must be '" + FORMAT + "'");
        }
        if (node.path("version").asInt(-1) != VERSION) {
            throw new IllegalArgumentException("chat template " + source + ": field 'version' must be " + VERSION
                    + ", got " + node.get("version"));
        }
        String system = text(node, "system", source), user = text(node, "user", source);
        String assistant = text(node, "assistant", source);
        for (String[] field : new String[][] {{"system", system}, {"user", user}, {"assistant", assistant}}) {
            if (!field[1].contains("{content}")) {
                throw new IllegalArgumentException("chat template " + source + ": field '" + field[0]
                        + "' must contain {content}, got '" + field[1] + "'");
            }
        }
        return new ChatTemplate(source, system, user, assistant, bool(node, "bos_each_turn", source),
                bool(node, "eos_after_assistant", source));
    }

    private static String text(JsonNode node, String field, String source) {
        JsonNode v = node.get(field);
        if (v == null || !v.isTextual()) {
            throw new IllegalArgumentException("chat template " + source + ": field '" + field + "' must be a string");
        }
        return v.asText();
    }

    private static boolean bool(JsonNode node, String field, String source) {
        JsonNode v = node.get(field);
        if (v == null || !v.isBoolean()) {
            throw new IllegalArgumentException("chat template " + source + ": field '" + field + "' must be true or false");
        }
        return v.asBoolean();
    }

    /**
     * A conversation as tokens, each marked as response (trained on) or not. The messages are an optional system
     * message, then user and assistant turns in turn, starting with a user turn.
     */
    public Rendered render(List<Message> messages, Tokenizer tokenizer) {
        return render(messages, tokenizer, false);
    }

    /**
     * The prompt that asks the model for the next assistant turn ({@code generate --chat}): the conversation, which
     * ends with a user turn, then the assistant template's text before its {@code {content}}.
     */
    public int[] generationPrompt(List<Message> messages, Tokenizer tokenizer) {
        return render(messages, tokenizer, true).tokens();
    }

    private Rendered render(List<Message> messages, Tokenizer tokenizer, boolean forGeneration) {
        Rendered.Builder out = new Rendered.Builder();
        String systemText = "";
        int i = 0;
        if (!messages.isEmpty() && messages.get(0).role().equals("system")) {
            systemText = system.replace("{content}", messages.get(0).content());
            i = 1;
        }
        int start = tokenizer.bosId() >= 0 ? tokenizer.bosId() : tokenizer.eosId();
        boolean first = true;
        String expected = "user";
        for (; i < messages.size(); i++) {
            Message m = messages.get(i);
            if (!m.role().equals(expected)) {
                throw new IllegalArgumentException("message " + (i + 1) + " has role '" + m.role() + "', expected '"
                        + expected + "' (an optional system message, then user and assistant in turn)");
            }
            if (expected.equals("user")) {
                if (first || bosEachTurn) out.add(start, false);
                out.add(tokenizer.encode(user.replace("{system}", first ? systemText : "")
                        .replace("{content}", m.content())), false);
                first = false;
                expected = "assistant";
            } else {
                out.add(tokenizer.encode(assistant.replace("{content}", m.content())), true);
                if (eosAfterAssistant) out.add(tokenizer.eosId(), true);
                expected = "user";
            }
        }
        if (first) throw new IllegalArgumentException("a conversation needs at least one user message");
        if (forGeneration) {
            if (!expected.equals("assistant")) {
                throw new IllegalArgumentException("a chat prompt must end with a user message");
            }
            String prefix = assistant.substring(0, assistant.indexOf("{content}"));
            if (!prefix.isEmpty()) out.add(tokenizer.encode(prefix), false);
        }
        return out.build();
    }

    /** Tokens and, per token, whether it is part of a response (counts in the fine-tuning loss). */
    public record Rendered(int[] tokens, boolean[] response) {
        static final class Builder {
            private int[] tokens = new int[64];
            private boolean[] response = new boolean[64];
            private int size;

            void add(int token, boolean isResponse) {
                if (size == tokens.length) {
                    tokens = java.util.Arrays.copyOf(tokens, size * 2);
                    response = java.util.Arrays.copyOf(response, size * 2);
                }
                tokens[size] = token;
                response[size++] = isResponse;
            }

            void add(int[] ids, boolean isResponse) {
                for (int id : ids) add(id, isResponse);
            }

            Rendered build() {
                return new Rendered(java.util.Arrays.copyOf(tokens, size), java.util.Arrays.copyOf(response, size));
            }
        }
    }
}
