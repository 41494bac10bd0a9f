package dev.jllama.scoring;

import dev.jllama.data.prepare.DocumentScorer;
import java.io.IOException;
import java.util.List;
import org.apache.hadoop.conf.Configuration;

/** {@code quality_score}: the probability a trained {@link ClassifierModel} gives the document's being positive. */
final class ClassifierScorer implements DocumentScorer {
    static final String COLUMN = "quality_score";

    private final String model;

    ClassifierScorer(String model) {
        this.model = model;
    }

    @Override
    public String column() {
        return COLUMN;
    }

    @Override
    public Scoring open(Configuration conf) throws IOException {
        ClassifierModel loaded = ClassifierModel.read(model, conf);
        HashedNgrams features = loaded.features();
        return new Scoring() {
            @Override
            public double[] score(List<String> texts) {
                double[] scores = new double[texts.size()];
                for (int i = 0; i < scores.length; i++) scores[i] = loaded.probability(features.vector(texts.get(i)));
                return scores;
            }

            @Override
            public void close() {}
        };
    }
}
