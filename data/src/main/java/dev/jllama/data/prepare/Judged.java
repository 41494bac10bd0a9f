package dev.jllama.data.prepare;

import java.io.Serializable;

/** A document after line removal and the quality filters, with its counts. */
record Judged(Doc doc, QualityFilter.Verdict verdict, boolean emptied, int lines, int linesRemoved) implements Serializable {

    boolean kept() {
        return !emptied && verdict == QualityFilter.Verdict.KEEP;
    }

    Counts counts() {
        Counts c = new Counts();
        c.documents = 1;
        c.lines = lines;
        c.linesRemoved = linesRemoved;
        if (emptied) c.emptiedByLines = 1;
        else if (verdict == QualityFilter.Verdict.TOO_SHORT) c.tooShort = 1;
        else if (verdict == QualityFilter.Verdict.TOO_SYMBOLIC) c.tooSymbolic = 1;
        else if (verdict == QualityFilter.Verdict.FILTERED) c.filtered = 1;
        else {
            c.kept = 1;
            c.keptChars = doc.chars();
        }
        return c;
    }
}
