package dev.jllama.model.eval;

import dev.jllama.model.LlamaModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Multiple choice scored by log-likelihood, as the LLaMA paper and lm-evaluation-harness score it: each choice is a
 * request (context tokens, continuation tokens) whose score is the summed log-probability of the continuation's
 * tokens after the context. The model's answer is the choice with the highest sum ({@code acc}), the highest sum per
 * character of the choice ({@code acc_norm}), and, when the item carries unconditional requests, the highest
 * difference between the conditional and the unconditional log-likelihood ({@code acc_ratio}, the paper's ratio
 * against "Answer:"). Batched: every request is one row of a forward pass in which only the continuation's tokens
 * are targets; a row longer than the model's context loses context tokens from its start, counted.
 */
public final class MultipleChoice {
    private MultipleChoice() {}

    /** The continuation's tokens scored after the context's. */
    public record Request(int[] context, int[] continuation) {
        public Request {
            if (context.length == 0) throw new IllegalArgumentException("a request needs context tokens");
            if (continuation.length == 0) throw new IllegalArgumentException("a choice has no tokens");
        }
    }

    /**
     * @param choices       one request per choice
     * @param unconditional one request per choice with the unconditional context, or none
     * @param choiceChars   each choice's length in characters (Unicode code points), the acc_norm divisor
     * @param label         index of the right choice
     */
    public record Item(List<Request> choices, List<Request> unconditional, int[] choiceChars, int label) {
        public Item {
            if (choices.size() < 2) throw new IllegalArgumentException("an item needs at least 2 choices, got " + choices.size());
            if (choiceChars.length != choices.size()) throw new IllegalArgumentException("one length per choice");
            if (!unconditional.isEmpty() && unconditional.size() != choices.size()) {
                throw new IllegalArgumentException("one unconditional request per choice, or none");
            }
            if (label < 0 || label >= choices.size()) {
                throw new IllegalArgumentException("label " + label + " is out of range [0, " + choices.size() + ")");
            }
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
     * @param logLikelihoods              per item, per choice: the summed log-probability of the continuation
     * @param unconditionalLogLikelihoods the same after the unconditional context; null when no item has one
     * @param normalised                  accuracy choosing by log-likelihood per character (acc_norm)
     * @param unnormalised                accuracy choosing by the summed log-likelihood (acc)
     * @param ratio                       accuracy choosing by conditional minus unconditional (acc_ratio), or null
     * @param truncatedItemFlags          per item, whether some request of it lost context tokens to the model's window
     */
    public record Result(double[][] logLikelihoods, double[][] unconditionalLogLikelihoods, Accuracy normalised,
                         Accuracy unnormalised, Accuracy ratio, boolean[] truncatedItemFlags) {
        /** Items of which some request lost context tokens to the model's window. */
        public int truncatedItems() {
            int n = 0;
            for (boolean t : truncatedItemFlags) if (t) n++;
            return n;
        }
    }

    /** Scores every request of every item, {@code batch} rows per forward pass. */
    public static Result evaluate(LlamaModel model, List<Item> items, int batch) {
        if (items.isEmpty()) throw new IllegalArgumentException("no items to evaluate");
        boolean withRatio = !items.get(0).unconditional().isEmpty();
        for (Item item : items) {
            if (item.unconditional().isEmpty() == withRatio) {
                throw new IllegalArgumentException("either every item has unconditional requests or none has");
            }
        }
        List<Request> requests = new ArrayList<>();
        for (Item item : items) {
            requests.addAll(item.choices());
            requests.addAll(item.unconditional());
        }
        boolean[] truncated = new boolean[requests.size()];
        double[] scores = score(model, requests, batch, truncated);

        double[][] conditional = new double[items.size()][], unconditional = withRatio ? new double[items.size()][] : null;
        boolean[] truncatedItems = new boolean[items.size()];
        int normalisedRight = 0, unnormalisedRight = 0, ratioRight = 0, next = 0;
        for (int i = 0; i < items.size(); i++) {
            Item item = items.get(i);
            int n = item.choices().size(), requestCount = n + item.unconditional().size();
            for (int r = next; r < next + requestCount; r++) truncatedItems[i] |= truncated[r];
            conditional[i] = Arrays.copyOfRange(scores, next, next + n);
            int bestNormalised = 0, bestSum = 0, bestRatio = 0;
            for (int c = 1; c < n; c++) {
                if (conditional[i][c] / item.choiceChars()[c]
                        > conditional[i][bestNormalised] / item.choiceChars()[bestNormalised]) {
                    bestNormalised = c;
                }
                if (conditional[i][c] > conditional[i][bestSum]) bestSum = c;
            }
            if (bestNormalised == item.label()) normalisedRight++;
            if (bestSum == item.label()) unnormalisedRight++;
            if (withRatio) {
                unconditional[i] = Arrays.copyOfRange(scores, next + n, next + 2 * n);
                for (int c = 1; c < n; c++) {
                    if (conditional[i][c] - unconditional[i][c] > conditional[i][bestRatio] - unconditional[i][bestRatio]) {
                        bestRatio = c;
                    }
                }
                if (bestRatio == item.label()) ratioRight++;
            }
            next += requestCount;
        }
        return new Result(conditional, unconditional, new Accuracy(normalisedRight, items.size()),
                new Accuracy(unnormalisedRight, items.size()),
                withRatio ? new Accuracy(ratioRight, items.size()) : null, truncatedItems);
    }

    /**
     * The summed log-likelihood of each request's continuation; {@code truncated[r]} is set when request r lost
     * context tokens to the model's window.
     */
    private static double[] score(LlamaModel model, List<Request> requests, int batch, boolean[] truncated) {
        int maxSeqLen = model.config().maxSeqLen();
        int longest = 0;
        for (Request r : requests) {
            if (r.continuation().length > maxSeqLen) {
                throw new IllegalArgumentException("a choice of " + r.continuation().length + " tokens does not fit the"
                        + " model's context of " + maxSeqLen);
            }
            longest = Math.max(longest, Math.min(maxSeqLen + 1, r.context().length + r.continuation().length));
        }
        int seqLen = longest - 1;
        if (seqLen <= 0) throw new IllegalArgumentException("context and choice make a single token: nothing to score");
        double[] scores = new double[requests.size()];
        int[] inputs = new int[batch * seqLen], targets = new int[batch * seqLen];
        float[] losses = new float[batch * seqLen];
        for (int first = 0; first < requests.size(); first += batch) {
            int rows = Math.min(batch, requests.size() - first);
            Arrays.fill(inputs, 0);
            Arrays.fill(targets, -1);
            for (int b = 0; b < rows; b++) {
                Request r = requests.get(first + b);
                truncated[first + b] = pack(inputs, targets, b * seqLen, seqLen, r.context(), r.continuation());
            }
            model.tokenLosses(inputs, targets, batch, seqLen, losses);
            for (int b = 0; b < rows; b++) {
                double sum = 0;
                for (int t = 0; t < seqLen; t++) sum -= losses[b * seqLen + t];
                scores[first + b] = sum;
            }
        }
        return scores;
    }

    /**
     * Writes context + continuation into one row (from {@code at}) of {@code inputs} and {@code targets},
     * left-aligned, with only the continuation's tokens as targets; the context loses tokens from its start when
     * the row is too long (the last {@code seqLen + 1} tokens are kept, as lm-evaluation-harness does). Returns
     * whether it did.
     */
    private static boolean pack(int[] inputs, int[] targets, int at, int seqLen, int[] context, int[] continuation) {
        int keep = Math.min(context.length, seqLen + 1 - continuation.length);
        int[] row = new int[keep + continuation.length];
        System.arraycopy(context, context.length - keep, row, 0, keep);
        System.arraycopy(continuation, 0, row, keep, continuation.length);
        for (int t = 0; t + 1 < row.length; t++) {
            inputs[at + t] = row[t];
            if (t + 1 >= keep) targets[at + t] = row[t + 1];
        }
        return keep < context.length;
    }
}
