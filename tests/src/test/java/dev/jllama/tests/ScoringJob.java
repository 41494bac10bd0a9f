package dev.jllama.tests;

import dev.jllama.data.prepare.DocumentScorer;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * A scorer used the way {@code prepare} uses it: shipped to the executors of a local Spark job, opened once per
 * partition, fed the partition's texts in batches.
 */
final class ScoringJob {
    private ScoringJob() {}

    static double[] score(DocumentScorer scorer, List<String> texts, int partitions, int batch) {
        try (JavaSparkContext sc = new JavaSparkContext(new SparkConf().setMaster("local[2]")
                .setAppName("ScoringJob").set("spark.ui.enabled", "false"))) {
            List<Double> scores = sc.parallelize(texts, partitions).mapPartitions(it -> {
                List<Double> out = new ArrayList<>();
                try (DocumentScorer.Scoring scoring = scorer.open(new Configuration())) {
                    List<String> pending = new ArrayList<>();
                    while (it.hasNext()) {
                        pending.add(it.next());
                        if (pending.size() == batch || !it.hasNext()) {
                            for (double s : scoring.score(pending)) out.add(s);
                            pending.clear();
                        }
                    }
                }
                return out.iterator();
            }).collect();
            return scores.stream().mapToDouble(Double::doubleValue).toArray();
        }
    }
}
