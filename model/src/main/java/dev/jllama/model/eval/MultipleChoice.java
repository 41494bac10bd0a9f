package dev.jllama.model.eval;

import dev.jllama.model.LlamaModel;
import java.util.List;

/**
 * Zero-shot multiple choice as in the LLaMA paper: each choice is scored by the log-likelihood of its tokens
 * following the context, normalised by the number of characters of the choice (the paper's normalisation), and
 * the highest score is the model's answer. The unnormalised sum is reported too. Batched: every (context, choice)
 * pair is one row of a forward pass in which only the choice's tokens are targets.
 */
public final class MultipleChoice {
    private MultipleChoice() {}

    /**
     * @param context     tokens before the choices
     * @param choices     each choice's tokens
     * @param choiceChars each choice's length in characters (Unicode code points)
     * @param label       index of the right choice
     */
    public record Item(int[] context, List<int[]> choices, int[] choiceChars, int label) {
        public Item {
            if (choices.size() < 2) throw new IllegalArgumentException("an item needs at least 2 choices, got " + choices.size());
            if (choiceChars.length != choices.size()) throw new IllegalArgumentException("one length per choice");
            if (label < 0 || label >= choices.size()) {
                throw new IllegalArgumentException("label " + label + " is out of range [0, " + choices.size() + ")");
            }
            if (context.length == 0) throw new IllegalArgumentException("an item needs context tokens");
            for (int[] c : choices) if (c.length == 0) throw new IllegalArgumentException("a choice has no tokens");
            for (int n : choiceChars) if (n <= 0) throw new IllegalArgumentException("a choice has no characters");
        }
    }

    /** Accuracy {@code correct / items} with its standard error {@code sqrt(p (1 - p) / n)}. */
    public record Accuracy(int correct, int items) {
        public double value() {
            return (double) correct / items;
        }

        public double standardError() {
            double p = value();
            return Math.sqrt(p * (1 - p) / items);
        }
    }

    /**
     * @param logLikelihoods per item, per choice: the summed log-probability of the choice's tokens
     * @param normalised     accuracy choosing by log-likelihood per character
     * @param unnormalised   accuracy choosing by the summed log-likelihood
     */
    public record Result(double[][] logLikelihoods, Accuracy normalised, Accuracy unnormalised) {}

    /**
     * Scores every choice of every item, {@code batch} rows per forward pass. A row longer than
     * {@code maxSeqLen + 1} tokens loses context tokens from its start.
     */
    public static Result evaluate(LlamaModel model, List<Item> items, int batch) {
        if (items.isEmpty()) throw new IllegalArgumentException("no items to evaluate");
        int maxSeqLen = model.config().maxSeqLen();
        int longest = 0;
        for (Item item : items) {
            for (int[] c : item.choices()) {
                if (c.length > maxSeqLen) {
                    throw new IllegalArgumentException("a choice of " + c.length + " tokens does not fit the model's "
                            + "context of " + maxSeqLen);
                }
                longest = Math.max(longest, Math.min(maxSeqLen + 1, item.context().length + c.length));
            }
        }
        int seqLen = longest - 1;
        if (seqLen <= 0) throw new IllegalArgumentException("context and choice make a single token: nothing to score");
        double[][] scores = new double[items.size()][];
        for (int i = 0; i < items.size(); i++) scores[i] = new double[items.get(i).choices().size()];

        int[] inputs = new int[batch * seqLen], targets = new int[batch * seqLen];
        float[] losses = new float[batch * seqLen];
        int[] rowItem = new int[batch], rowChoice = new int[batch];
        int rows = 0;
        for (int i = 0; i < items.size(); i++) {
            Item item = items.get(i);
            for (int c = 0; c < item.choices().size(); c++) {
                if (rows == 0) {
                    java.util.Arrays.fill(inputs, 0);
                    java.util.Arrays.fill(targets, -1);
                }
                pack(inputs, targets, rows * seqLen, seqLen, item.context(), item.choices().get(c));
                rowItem[rows] = i;
                rowChoice[rows] = c;
                if (++rows == batch || (i == items.size() - 1 && c == item.choices().size() - 1)) {
                    model.tokenLosses(inputs, targets, batch, seqLen, losses);
                    for (int b = 0; b < rows; b++) {
                        double sum = 0;
                        for (int t = 0; t < seqLen; t++) sum -= losses[b * seqLen + t];
                        scores[rowItem[b]][rowChoice[b]] = sum;
                    }
                    rows = 0;
                }
            }
        }

        int normalisedRight = 0, unnormalisedRight = 0;
        for (int i = 0; i < items.size(); i++) {
            Item item = items.get(i);
            int bestNormalised = 0, bestSum = 0;
            for (int c = 1; c < scores[i].length; c++) {
                if (scores[i][c] / item.choiceChars()[c] > scores[i][bestNormalised] / item.choiceChars()[bestNormalised]) {
                    bestNormalised = c;
                }
                if (scores[i][c] > scores[i][bestSum]) bestSum = c;
            }
            if (bestNormalised == item.label()) normalisedRight++;
            if (bestSum == item.label()) unnormalisedRight++;
        }
        return new Result(scores, new Accuracy(normalisedRight, items.size()), new Accuracy(unnormalisedRight, items.size()));
    }

    /**
     * Writes context + choice into one row (from {@code at}) of {@code inputs} and {@code targets}, left-aligned,
     * with only the choice's tokens as targets; the context loses tokens from its start when the row is too long.
     */
    private static void pack(int[] inputs, int[] targets, int at, int seqLen, int[] context, int[] choice) {
        int keep = Math.min(context.length, seqLen + 1 - choice.length);
        int[] row = new int[keep + choice.length];
        System.arraycopy(context, context.length - keep, row, 0, keep);
        System.arraycopy(choice, 0, row, keep, choice.length);
        for (int t = 0; t + 1 < row.length; t++) {
            inputs[at + t] = row[t];
            if (t + 1 >= keep) targets[at + t] = row[t + 1];
        }
    }
}
