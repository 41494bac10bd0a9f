package dev.jllama.cli;

import dev.jllama.data.finetune.ChatTemplate;
import dev.jllama.data.tokenizer.Tokenizer;
import dev.jllama.model.Decoder;
import dev.jllama.model.generate.Generation;
import dev.jllama.model.generate.Sampler;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code llama generate}: continues a prompt with a trained model, decoding token by token with a key/value cache
 * and printing the text as it is decoded.
 */
@Command(name = "generate", description = "Continues a prompt with a trained model, printing the text as it is decoded.")
public final class GenerateCommand extends LlamaCommand {
    /** Rows of the prompt run through the model at once. */
    private static final int PROMPT_CHUNK = 64;

    @Option(names = "--checkpoint", required = true, paramLabel = "DIR",
            description = "a checkpoint, or a run directory (its newest complete checkpoint); any Hadoop URI")
    String checkpoint;

    @Option(names = "--prompt", paramLabel = "TEXT",
            description = "the text to continue (it follows the end-of-document token, as every document does in"
                    + " training); with --chat, the user's message")
    String prompt;

    @Option(names = "--chat", description = "chat with a fine-tuned model through the chat template: the reply to"
            + " --prompt, or, without --prompt, a conversation read from standard input, one user message a line,"
            + " until end of input or an empty line")
    boolean chat;

    @Option(names = "--system", paramLabel = "TEXT", description = "with --chat, the system message")
    String system;

    @Option(names = "--chat-template", paramLabel = "FILE.json", description = "with --chat, the template the model"
            + " was fine-tuned with (default: the shipped Llama-2 template)")
    java.nio.file.Path chatTemplate;

    @Option(names = "--max-tokens", defaultValue = "128", paramLabel = "N", description = "most tokens to generate"
            + " (default: ${DEFAULT-VALUE}); generation also stops at the end-of-document token and when the context is full")
    @Range(min = 0)
    int maxTokens;

    @Option(names = "--temperature", defaultValue = "0.8", paramLabel = "T",
            description = "0 is greedy (the most likely token every time) (default: ${DEFAULT-VALUE})")
    @Range(min = 0)
    double temperature;

    @Option(names = "--top-k", paramLabel = "K", description = "sample from the K most likely tokens only (default: no limit)")
    @Range(min = 1)
    Integer topK;

    @Option(names = "--top-p", defaultValue = "0.95", paramLabel = "P",
            description = "sample from the most likely tokens that make up probability P (default: ${DEFAULT-VALUE})")
    @Range(min = 0, minExclusive = true, max = 1)
    double topP;

    @Option(names = "--seed", defaultValue = "1234", paramLabel = "S",
            description = "sampling seed: the same seed gives the same text (default: ${DEFAULT-VALUE})")
    long seed;

    @Mixin
    BackendOptions backend;

    @Override
    void validate() {
        if (!chat && prompt == null) throw new UsageException("--prompt is required (or --chat, which reads standard input)");
        if (!chat && (system != null || chatTemplate != null)) {
            throw new UsageException((system != null ? "--system" : "--chat-template") + " goes with --chat");
        }
    }

    @Override
    public Map<String, Object> run(PrintStream out) throws Exception {
        if (chat) return chat(out);
        Sampler sampler = new Sampler(temperature, topK == null ? 0 : topK, topP, seed);
        try (TrainedModel loaded = TrainedModel.load(checkpoint, backend, new Configuration());
             Decoder decoder = new Decoder(loaded.model, loaded.state.config().maxSeqLen(), PROMPT_CHUNK)) {
            int[] promptIds = loaded.encodeDocument(prompt);
            TextStream stream = new TextStream(loaded.tokenizer, promptIds, out);
            out.print(prompt);
            out.flush();
            Generation.Result result = Generation.run(decoder, promptIds, maxTokens, loaded.tokenizer.eosId(), sampler,
                    stream::add);
            stream.finish();
            out.println();
            out.printf("[%s, step %d, backend %s] prompt: %d tokens, %.1f tokens/s | generated: %d tokens, "
                            + "%.1f tokens/s | stopped: %s%n", loaded.checkpoint, loaded.state.step(),
                    loaded.backend.name(), promptIds.length, result.promptTokensPerSecond(), result.tokens().length,
                    result.tokensPerSecond(), stopName(result.stop()));

            Map<String, Object> json = new LinkedHashMap<>();
            json.put("text", stream.generatedText());
            json.put("prompt", prompt);
            json.put("prompt_ids", promptIds);
            json.put("ids", result.tokens());
            json.put("stop", stopName(result.stop()));
            json.put("prompt_tokens_per_s", result.promptTokensPerSecond());
            json.put("tokens_per_s", result.tokensPerSecond());
            json.put("checkpoint", loaded.checkpoint);
            json.put("step", loaded.state.step());
            json.put("backend", loaded.backend.name());
            json.put("temperature", temperature);
            json.put("top_k", topK);
            json.put("top_p", topP);
            json.put("seed", seed);
            return json;
        }
    }

    /**
     * {@code --chat}: each user message (--prompt, or the lines of standard input) is added to the conversation, the
     * conversation rendered through the chat template up to the assistant's turn, and the reply generated until the
     * end-of-sequence token; the reply joins the conversation for the next turn.
     */
    private Map<String, Object> chat(PrintStream out) throws Exception {
        ChatTemplate template;
        try {
            template = ChatTemplate.load(chatTemplate);
        } catch (java.io.IOException | IllegalArgumentException e) {
            throw new UsageException("--chat-template: " + e.getMessage());
        }
        Sampler sampler = new Sampler(temperature, topK == null ? 0 : topK, topP, seed);
        List<ChatTemplate.Message> conversation = new ArrayList<>();
        if (system != null) conversation.add(new ChatTemplate.Message("system", system));
        List<Map<String, Object>> turns = new ArrayList<>();
        try (TrainedModel loaded = TrainedModel.load(checkpoint, backend, new Configuration());
             Decoder decoder = new Decoder(loaded.model, loaded.state.config().maxSeqLen(), PROMPT_CHUNK)) {
            java.io.BufferedReader in = prompt != null ? null
                    : new java.io.BufferedReader(new java.io.InputStreamReader(System.in, StandardCharsets.UTF_8));
            boolean interactive = in != null && System.console() != null;
            while (true) {
                String user;
                if (prompt != null) {
                    if (!turns.isEmpty()) break;
                    user = prompt;
                } else {
                    if (interactive) {
                        out.print("> ");
                        out.flush();
                    }
                    user = in.readLine();
                    if (user == null || user.isBlank()) break;
                    if (!interactive) out.println("> " + user); // a terminal has echoed it already
                }
                conversation.add(new ChatTemplate.Message("user", user));
                int[] promptIds = template.generationPrompt(conversation, loaded.tokenizer);
                if (promptIds.length >= decoder.capacity()) {
                    out.println("[the conversation has " + promptIds.length + " tokens, the model's context "
                            + decoder.capacity() + ": ending it]");
                    break;
                }
                TextStream stream = new TextStream(loaded.tokenizer, promptIds, out);
                Generation.Result result = Generation.run(decoder, promptIds, maxTokens, loaded.tokenizer.eosId(),
                        sampler, stream::add);
                stream.finish();
                out.println();
                String reply = stream.generatedText().strip();
                conversation.add(new ChatTemplate.Message("assistant", reply));
                Map<String, Object> turn = new LinkedHashMap<>();
                turn.put("user", user);
                turn.put("reply", reply);
                turn.put("prompt_ids", promptIds);
                turn.put("ids", result.tokens());
                turn.put("stop", stopName(result.stop()));
                turn.put("tokens_per_s", result.tokensPerSecond());
                turns.add(turn);
            }
            if (turns.isEmpty() && prompt == null) throw new UsageException("--chat: no message on standard input");
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("text", turns.get(turns.size() - 1).get("reply"));
            json.put("turns", turns);
            json.put("template", template.source());
            json.put("checkpoint", loaded.checkpoint);
            json.put("step", loaded.state.step());
            json.put("backend", loaded.backend.name());
            json.put("temperature", temperature);
            json.put("top_k", topK);
            json.put("top_p", topP);
            json.put("seed", seed);
            return json;
        }
    }

    private static String stopName(Generation.Stop stop) {
        return switch (stop) {
            case EOS -> "eos";
            case MAX_TOKENS -> "max_tokens";
            case CONTEXT -> "context_full";
        };
    }

    /**
     * Prints generated text as it is decoded. The text so far is the decoding of prompt and generated ids together
     * (so a word's leading space survives); what is new is printed unless it ends in a byte piece whose UTF-8
     * character is still incomplete, which decodes to U+FFFD until its last byte arrives.
     */
    static final class TextStream {
        private final Tokenizer tokenizer;
        private final PrintStream out;
        private int[] ids;
        private int count;
        private final int promptLength;
        private final int promptChars;
        private int printed;

        TextStream(Tokenizer tokenizer, int[] prompt, PrintStream out) {
            this.tokenizer = tokenizer;
            this.out = out;
            this.ids = Arrays.copyOf(prompt, prompt.length + 64);
            this.count = prompt.length;
            this.promptLength = prompt.length;
            this.promptChars = tokenizer.decode(prompt).length();
            this.printed = promptChars;
        }

        void add(int id) {
            if (count == ids.length) ids = Arrays.copyOf(ids, count * 2);
            ids[count++] = id;
            String text = tokenizer.decode(Arrays.copyOf(ids, count));
            if (text.endsWith("\uFFFD") && pendingBytes() < 4) return; // wait for the character's last byte
            emit(text);
        }

        /** Byte pieces at the end of the ids: an unfinished UTF-8 character is at most 3 of them. */
        private int pendingBytes() {
            int n = 0;
            for (int i = count - 1; i >= promptLength && tokenizer.type(ids[i]) == dev.jllama.data.tokenizer.PieceType.BYTE; i--) n++;
            return n;
        }

        void finish() {
            emit(tokenizer.decode(Arrays.copyOf(ids, count)));
        }

        private void emit(String text) {
            if (text.length() > printed) {
                out.print(text.substring(printed));
                out.flush();
                printed = text.length();
            }
        }

        String generatedText() {
            return tokenizer.decode(Arrays.copyOf(ids, count)).substring(promptChars);
        }
    }
}
