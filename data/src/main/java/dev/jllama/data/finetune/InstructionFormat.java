package dev.jllama.data.finetune;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jllama.data.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * The instruction-data formats {@code finetune} reads, one JSON object per line:
 * <ul>
 *   <li>{@code alpaca}: {@code instruction}, optional {@code input}, {@code output}: a user turn (the instruction,
 *       then a blank line and the input when there is one) and the assistant's output, through the chat template;</li>
 *   <li>{@code prompt-completion}: {@code prompt}, {@code completion}: no template: the start token, the prompt as it
 *       is, then the completion and EOS as the response;</li>
 *   <li>{@code messages}: {@code messages}, a list of {@code {"role", "content"}} (system, user, assistant), through
 *       the chat template; every assistant turn is a response.</li>
 * </ul>
 */
public enum InstructionFormat {
    ALPACA("alpaca"), PROMPT_COMPLETION("prompt-completion"), MESSAGES("messages");

    public final String label;

    InstructionFormat(String label) {
        this.label = label;
    }

    public static List<String> labels() {
        List<String> out = new ArrayList<>();
        for (InstructionFormat f : values()) out.add(f.label);
        return out;
    }

    public static InstructionFormat parse(String label) {
        for (InstructionFormat f : values()) if (f.label.equals(label)) return f;
        throw new IllegalArgumentException("--format must be one of " + String.join(", ", labels()) + ", got '" + label + "'");
    }

    /** The format whose fields {@code record} has, or null. */
    public static InstructionFormat detect(JsonNode record) {
        if (record.has("messages")) return MESSAGES;
        if (record.has("instruction") && record.has("output")) return ALPACA;
        if (record.has("prompt") && record.has("completion")) return PROMPT_COMPLETION;
        return null;
    }

    /** One record as tokens with their response marks; {@code where} ("FILE:LINE") names it in errors. */
    public ChatTemplate.Rendered render(JsonNode record, ChatTemplate template, Tokenizer tokenizer, String where) {
        switch (this) {
            case ALPACA -> {
                String instruction = string(record, "instruction", where, true);
                String input = string(record, "input", where, false);
                String output = string(record, "output", where, true);
                String user = input == null || input.isEmpty() ? instruction : instruction + "\n\n" + input;
                return template.render(List.of(new ChatTemplate.Message("user", user),
                        new ChatTemplate.Message("assistant", output)), tokenizer);
            }
            case PROMPT_COMPLETION -> {
                int[] prompt = tokenizer.encode(string(record, "prompt", where, true));
                int[] completion = tokenizer.encode(string(record, "completion", where, true));
                int n = 1 + prompt.length + completion.length + 1;
                int[] tokens = new int[n];
                boolean[] response = new boolean[n];
                tokens[0] = tokenizer.bosId() >= 0 ? tokenizer.bosId() : tokenizer.eosId();
                System.arraycopy(prompt, 0, tokens, 1, prompt.length);
                System.arraycopy(completion, 0, tokens, 1 + prompt.length, completion.length);
                tokens[n - 1] = tokenizer.eosId();
                for (int i = 1 + prompt.length; i < n; i++) response[i] = true;
                return new ChatTemplate.Rendered(tokens, response);
            }
            default -> {
                JsonNode messages = record.get("messages");
                if (messages == null || !messages.isArray() || messages.isEmpty()) {
                    throw new IllegalArgumentException(where + ": field 'messages' must be a non-empty list");
                }
                List<ChatTemplate.Message> list = new ArrayList<>();
                for (int i = 0; i < messages.size(); i++) {
                    String at = where + ": messages[" + i + "]";
                    JsonNode m = messages.get(i);
                    if (!m.isObject()) throw new IllegalArgumentException(at + " must be an object with role and content");
                    String role = string(m, "role", at, true);
                    if (!List.of("system", "user", "assistant").contains(role)) {
                        throw new IllegalArgumentException(at + ": field 'role' must be system, user or assistant, got '"
                                + role + "'");
                    }
                    list.add(new ChatTemplate.Message(role, string(m, "content", at, true)));
                }
                if (!list.get(list.size() - 1).role().equals("assistant")) {
                    throw new IllegalArgumentException(where + ": the last message must be the assistant's");
                }
                try {
                    return template.render(list, tokenizer);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(where + ": " + e.getMessage());
                }
            }
        }
    }

    private static String string(JsonNode record, String field, String where, boolean required) {
        JsonNode v = record.get(field);
        if (v == null || v.isNull()) {
            if (required) throw new IllegalArgumentException(where + ": field '" + field + "' is missing");
            return null;
        }
        if (!v.isTextual()) throw new IllegalArgumentException(where + ": field '" + field + "' must be a string");
        return v.asText();
    }
}
