package dev.jllama.model.eval;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * A multiple-choice task file (JSONL) and the few-shot prompts built from it the way lm-evaluation-harness builds
 * them: {@code description + (exemplar + fewshot_delimiter) * K + question}, each choice scored as
 * {@code target_delimiter + answer} after it, where an exemplar is {@code question + target_delimiter + answer}.
 * The format is documented in the README ("Few-shot evaluation"). An optional first line
 * {@code {"task": {...}}} holds the settings; every other line is an item, of the task's kind:
 * <ul>
 *   <li>{@code multiple_choice}: {@code {"context", "choices", "label"}};
 *   <li>{@code mmlu}: {@code {"question", "choices", "label"}}, shown as the question, the choices lettered A, B, ...
 *       and "Answer:", the letters scored;
 *   <li>{@code winogrande}: {@code {"sentence" (with one "_"), "options", "label"}}, each option substituted for
 *       the "_" and the shared rest of the sentence scored (partial scoring).
 * </ul>
 * An item with {@code "fewshot": true} is an exemplar, not evaluated; without any, exemplars come from the
 * evaluated items, never the item itself.
 */
public final class FewShotTask {
    /** How the item is laid out and what is scored. */
    public enum Kind {
        MULTIPLE_CHOICE, MMLU, WINOGRANDE;

        /** The name task files use. */
        public String fileName() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Kind of(String fileName) {
            for (Kind k : values()) if (k.fileName().equals(fileName)) return k;
            return null;
        }
    }

    /** Which exemplars an item gets: the first K of the pool (lm-evaluation-harness's first_n), or K drawn at random. */
    public enum Sampler { FIRST_N, RANDOM }

    /**
     * One item as text.
     *
     * @param questions   the text before the target delimiter: one shared by every choice, or one per choice
     * @param answers     the text scored after it: one per choice, or one shared by every choice
     * @param normChars   per choice, the characters (code points) acc_norm divides by: the choice as lm-evaluation-harness
     *                    defines it (the answer; WinoGrande's partial sentence)
     * @param label       the right choice
     * @param line        the line of the file it came from
     */
    public record TextItem(List<String> questions, List<String> answers, int[] normChars, int label, int line) {
        int choiceCount() {
            return normChars.length;
        }

        String question(int choice) {
            return questions.size() == 1 ? questions.get(0) : questions.get(choice);
        }

        String answer(int choice) {
            return answers.size() == 1 ? answers.get(0) : answers.get(choice);
        }
    }

    /** Turns a (context, continuation) text pair into tokens, as lm-evaluation-harness's {@code _encode_pair}. */
    @FunctionalInterface
    public interface PairEncoder {
        MultipleChoice.Request encode(String context, String continuation);
    }

    private static final Set<String> TASK_FIELDS = Set.of("name", "kind", "description", "fewshot_delimiter",
            "target_delimiter", "unconditional_context", "sampler");

    private final String file;
    private final String name;
    private final Kind kind;
    private final String description, fewshotDelimiter, targetDelimiter, unconditionalContext;
    private final Sampler sampler;
    private final List<TextItem> items, exemplars;

    private FewShotTask(String file, String name, Kind kind, String description, String fewshotDelimiter,
                        String targetDelimiter, String unconditionalContext, Sampler sampler, List<TextItem> items,
                        List<TextItem> exemplars) {
        this.file = file;
        this.name = name;
        this.kind = kind;
        this.description = description;
        this.fewshotDelimiter = fewshotDelimiter;
        this.targetDelimiter = targetDelimiter;
        this.unconditionalContext = unconditionalContext;
        this.sampler = sampler;
        this.items = items;
        this.exemplars = exemplars;
    }

    public String name() { return name; }
    public Kind kind() { return kind; }
    public List<TextItem> items() { return items; }

    /** Reads a task file; every error is one line naming {@code file} and the line. */
    public static FewShotTask read(String file, BufferedReader reader) throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        String name = baseName(file), description = "", fewshotDelimiter = "\n\n", targetDelimiter = " ";
        String unconditional = null;
        Kind kind = Kind.MULTIPLE_CHOICE;
        Sampler sampler = Sampler.RANDOM;
        List<TextItem> items = new ArrayList<>(), exemplars = new ArrayList<>();
        String line;
        int number = 0;
        boolean first = true;
        while ((line = reader.readLine()) != null) {
            number++;
            if (line.isBlank()) continue;
            String where = file + ":" + number;
            JsonNode node;
            try {
                node = mapper.readTree(line);
            } catch (JsonProcessingException e) {
                throw new IllegalArgumentException(where + ": not a JSON object: " + e.getOriginalMessage().replace('\n', ' '));
            }
            if (node == null || !node.isObject()) throw new IllegalArgumentException(where + ": not a JSON object");
            if (node.has("task")) {
                if (!first) throw new IllegalArgumentException(where + ": \"task\" settings must be the first line");
                JsonNode task = node.get("task");
                if (!task.isObject()) throw new IllegalArgumentException(where + ": \"task\" must be an object");
                for (Iterator<String> it = task.fieldNames(); it.hasNext(); ) {
                    String field = it.next();
                    if (!TASK_FIELDS.contains(field)) {
                        throw new IllegalArgumentException(where + ": unknown task setting \"" + field + "\" (known: "
                                + String.join(", ", new TreeSet<>(TASK_FIELDS)) + ")");
                    }
                }
                name = text(task, "name", name, where);
                String kindName = text(task, "kind", "multiple_choice", where);
                kind = Kind.of(kindName);
                if (kind == null) {
                    throw new IllegalArgumentException(where + ": unknown kind \"" + kindName
                            + "\" (multiple_choice, mmlu or winogrande)");
                }
                description = text(task, "description", description, where);
                fewshotDelimiter = text(task, "fewshot_delimiter", fewshotDelimiter, where);
                targetDelimiter = text(task, "target_delimiter", targetDelimiter, where);
                unconditional = text(task, "unconditional_context", null, where);
                if (unconditional != null && kind == Kind.WINOGRANDE) {
                    throw new IllegalArgumentException(where + ": \"unconditional_context\" does not apply to winogrande,"
                            + " whose choices share what is scored");
                }
                String samplerName = text(task, "sampler", "random", where);
                sampler = switch (samplerName) {
                    case "first_n" -> Sampler.FIRST_N;
                    case "random" -> Sampler.RANDOM;
                    default -> throw new IllegalArgumentException(where + ": unknown sampler \"" + samplerName
                            + "\" (first_n or random)");
                };
                first = false;
                continue;
            }
            first = false;
            JsonNode fewshot = node.get("fewshot");
            if (fewshot != null && !fewshot.isBoolean()) {
                throw new IllegalArgumentException(where + ": \"fewshot\" must be true or false");
            }
            TextItem item = switch (kind) {
                case MULTIPLE_CHOICE -> plain(node, where, number);
                case MMLU -> mmlu(node, where, number);
                case WINOGRANDE -> winogrande(node, where, number);
            };
            (fewshot != null && fewshot.asBoolean() ? exemplars : items).add(item);
        }
        if (items.isEmpty()) throw new IllegalArgumentException(file + ": no items");
        return new FewShotTask(file, name, kind, description, fewshotDelimiter, targetDelimiter, unconditional, sampler,
                items, exemplars);
    }

    /**
     * The tokenised items with {@code shots} exemplars each, drawn as the task's sampler says ({@code seed} for
     * random draws: one stream for the whole task, items in file order).
     */
    public List<MultipleChoice.Item> requests(int shots, long seed, PairEncoder encoder) {
        boolean ownPool = exemplars.isEmpty();
        List<TextItem> pool = ownPool ? items : exemplars;
        int needed = ownPool ? shots + 1 : shots;
        if (shots > 0 && needed > pool.size()) {
            throw new IllegalArgumentException(file + ": " + shots + " shots need " + needed + " "
                    + (ownPool ? "items (no \"fewshot\" items, so exemplars come from the other items)"
                    : "\"fewshot\" items") + ", there are " + pool.size());
        }
        SplittableRandom random = new SplittableRandom(seed);
        List<MultipleChoice.Item> out = new ArrayList<>(items.size());
        for (int i = 0; i < items.size(); i++) {
            TextItem item = items.get(i);
            StringBuilder prefix = new StringBuilder(description);
            if (shots > 0) {
                int count = 0;
                for (int index : draw(pool.size(), needed, random)) {
                    if (count == shots) break;
                    if (ownPool && index == i) continue;
                    TextItem example = pool.get(index);
                    prefix.append(example.question(example.label())).append(targetDelimiter)
                            .append(example.answer(example.label())).append(fewshotDelimiter);
                    count++;
                }
            }
            List<MultipleChoice.Request> choices = new ArrayList<>(), unconditionalRequests = new ArrayList<>();
            String where = file + ":" + item.line();
            try {
                for (int c = 0; c < item.choiceCount(); c++) {
                    choices.add(encoder.encode(prefix + item.question(c), targetDelimiter + item.answer(c)));
                    if (unconditionalContext != null) {
                        // An empty unconditional context is the document start alone: lm-evaluation-harness's
                        // acc_mutual_info.
                        unconditionalRequests.add(encoder.encode(unconditionalContext, targetDelimiter + item.answer(c)));
                    }
                }
                out.add(new MultipleChoice.Item(choices, unconditionalRequests, item.normChars(), item.label()));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(where + ": " + e.getMessage());
            }
        }
        return out;
    }

    /** The indices an item's exemplars are taken from, in order: the first {@code n}, or {@code n} drawn without replacement. */
    private int[] draw(int poolSize, int n, SplittableRandom random) {
        int[] indices = new int[poolSize];
        for (int i = 0; i < poolSize; i++) indices[i] = i;
        if (sampler == Sampler.RANDOM) {
            for (int i = 0; i < n; i++) {
                int j = i + random.nextInt(poolSize - i);
                int swap = indices[i];
                indices[i] = indices[j];
                indices[j] = swap;
            }
        }
        return Arrays.copyOf(indices, n);
    }

    private static TextItem plain(JsonNode node, String where, int line) {
        String context = requiredText(node, "context", where);
        List<String> choices = choiceTexts(node, "choices", where);
        int[] chars = new int[choices.size()];
        for (int c = 0; c < chars.length; c++) chars[c] = codePoints(choices.get(c));
        return new TextItem(List.of(context), choices, chars, label(node, choices.size(), where), line);
    }

    private static TextItem mmlu(JsonNode node, String where, int line) {
        String question = requiredText(node, "question", where);
        List<String> choices = choiceTexts(node, "choices", where);
        if (choices.size() > 26) throw new IllegalArgumentException(where + ": more than 26 choices cannot be lettered");
        StringBuilder text = new StringBuilder(question.strip());
        List<String> letters = new ArrayList<>();
        for (int c = 0; c < choices.size(); c++) {
            String letter = String.valueOf((char) ('A' + c));
            letters.add(letter);
            text.append('\n').append(letter).append(". ").append(choices.get(c));
        }
        text.append("\nAnswer:");
        int[] chars = new int[choices.size()];
        Arrays.fill(chars, 1);
        return new TextItem(List.of(text.toString()), letters, chars, label(node, choices.size(), where), line);
    }

    private static TextItem winogrande(JsonNode node, String where, int line) {
        String sentence = requiredText(node, "sentence", where);
        int blank = sentence.indexOf('_');
        if (blank < 0 || sentence.indexOf('_', blank + 1) >= 0) {
            throw new IllegalArgumentException(where + ": \"sentence\" must hold exactly one \"_\"");
        }
        List<String> options = choiceTexts(node, "options", where);
        String rest = sentence.substring(blank + 1).strip();
        if (rest.isEmpty()) throw new IllegalArgumentException(where + ": nothing follows the \"_\" to score");
        List<String> partials = new ArrayList<>();
        int[] chars = new int[options.size()];
        for (int c = 0; c < options.size(); c++) {
            partials.add(sentence.substring(0, blank) + options.get(c));
            chars[c] = codePoints(partials.get(c));
        }
        return new TextItem(partials, List.of(rest), chars, label(node, options.size(), where), line);
    }

    private static String text(JsonNode object, String field, String fallback, String where) {
        JsonNode value = object.get(field);
        if (value == null) return fallback;
        if (!value.isTextual()) throw new IllegalArgumentException(where + ": \"" + field + "\" must be a string");
        return value.asText();
    }

    private static String requiredText(JsonNode node, String field, String where) {
        String value = text(node, field, null, where);
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException(where + ": \"" + field + "\" must be a non-empty string");
        }
        return value;
    }

    private static List<String> choiceTexts(JsonNode node, String field, String where) {
        JsonNode array = node.get(field);
        if (array == null || !array.isArray() || array.size() < 2) {
            throw new IllegalArgumentException(where + ": \"" + field + "\" must be an array of at least 2 strings");
        }
        List<String> out = new ArrayList<>();
        for (int c = 0; c < array.size(); c++) {
            JsonNode choice = array.get(c);
            if (!choice.isTextual() || choice.asText().isBlank()) {
                throw new IllegalArgumentException(where + ": " + field + " " + c + " must be a non-empty string");
            }
            out.add(choice.asText());
        }
        return out;
    }

    private static int label(JsonNode node, int choices, String where) {
        JsonNode label = node.get("label");
        if (label == null || !label.isIntegralNumber()) {
            throw new IllegalArgumentException(where + ": \"label\" must be an integer");
        }
        if (label.asInt() < 0 || label.asInt() >= choices) {
            throw new IllegalArgumentException(where + ": \"label\" " + label.asInt() + " is out of range [0, " + choices
                    + ") of its " + choices + " choices");
        }
        return label.asInt();
    }

    private static int codePoints(String s) {
        return s.codePointCount(0, s.length());
    }

    private static String baseName(String file) {
        String base = file.substring(file.lastIndexOf('/') + 1);
        return base.endsWith(".jsonl") ? base.substring(0, base.length() - ".jsonl".length()) : base;
    }
}
