package dev.jllama.data.prepare;

import dev.jllama.data.tokenizer.Tokenizer;
import java.io.Serializable;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;

/**
 * Everything the job counts after the filters, in one pass over the judged documents: the filter counts, per
 * source the documents, bytes and tokens left after line removal and kept by the filters, the tokens of the
 * documents each removed (when counted here, see {@link StageTokens}), and what the validation cut needs (kept
 * documents drawn below the val fraction, the smallest draw of a kept document).
 */
final class FilterTally implements Serializable {
    private Counts counts = new Counts();
    private final Map<String, long[]> notEmptied = new TreeMap<>();
    private final Map<String, long[]> kept = new TreeMap<>();
    private final Map<String, Long> emptiedTokens = new TreeMap<>();
    private final Map<String, Long> rejectedTokens = new TreeMap<>();
    private long keptBelowFraction;
    private double smallestKeptDraw = Double.POSITIVE_INFINITY;

    /** The tally of some judged documents; {@code counter} (null: none) counts the tokens of those removed. */
    static FilterTally of(Iterator<Judged> judged, double valFraction, Tokenizer counter) {
        FilterTally t = new FilterTally();
        while (judged.hasNext()) {
            Judged j = judged.next();
            t.counts = t.counts.plus(j.counts());
            if (j.emptied()) {
                if (counter != null) t.emptiedTokens.merge(j.doc().source(), (long) StageTokens.of(j.doc(), counter), Long::sum);
                continue;
            }
            long[] one = SourceCounts.one(j.doc(), j.doc().bytes());
            t.notEmptied.merge(j.doc().source(), one, SourceCounts::sum);
            if (!j.kept()) {
                if (counter != null) t.rejectedTokens.merge(j.doc().source(), (long) StageTokens.of(j.doc(), counter), Long::sum);
                continue;
            }
            t.kept.merge(j.doc().source(), one, SourceCounts::sum);
            double draw = j.doc().draw();
            if (draw < valFraction) t.keptBelowFraction++;
            t.smallestKeptDraw = Math.min(t.smallestKeptDraw, draw);
        }
        return t;
    }

    FilterTally plus(FilterTally o) {
        FilterTally s = new FilterTally();
        s.counts = counts.plus(o.counts);
        for (FilterTally t : new FilterTally[] {this, o}) {
            t.notEmptied.forEach((k, v) -> s.notEmptied.merge(k, v, SourceCounts::sum));
            t.kept.forEach((k, v) -> s.kept.merge(k, v, SourceCounts::sum));
            t.emptiedTokens.forEach((k, v) -> s.emptiedTokens.merge(k, v, Long::sum));
            t.rejectedTokens.forEach((k, v) -> s.rejectedTokens.merge(k, v, Long::sum));
        }
        s.keptBelowFraction = keptBelowFraction + o.keptBelowFraction;
        s.smallestKeptDraw = Math.min(smallestKeptDraw, o.smallestKeptDraw);
        return s;
    }

    Counts counts() {
        return counts;
    }

    /** Per source: documents, bytes and tokens with something left after frequent-line removal. */
    Map<String, long[]> notEmptied() {
        return notEmptied;
    }

    /** Per source: documents, bytes and tokens kept by the filters. */
    Map<String, long[]> kept() {
        return kept;
    }

    /** Per source: the tokens of the documents the line filter emptied, as cleaned (when counted). */
    Map<String, Long> emptiedTokens() {
        return emptiedTokens;
    }

    /** Per source: the tokens of the documents the filters removed, as cleaned (when counted). */
    Map<String, Long> rejectedTokens() {
        return rejectedTokens;
    }

    /**
     * Documents whose hash draw is below the returned cut go to validation. Normally the cut is the val fraction;
     * if that selects nothing from a small corpus, the cut moves just past the smallest draw so that the validation
     * split holds one document (still a function of the content alone).
     */
    double valCut(double valFraction) {
        if (valFraction <= 0 || counts.kept < 2) return 0;
        return keptBelowFraction > 0 ? valFraction : Math.nextUp(smallestKeptDraw);
    }
}
