package dev.jllama.scoring;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import dev.jllama.data.prepare.DocumentTexts;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.classification.LogisticRegressionModel;
import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;

/**
 * Trains the quality classifier on the driver's Spark: positive and negative documents read as {@code prepare} reads
 * them, {@link HashedNgrams} features, L2-regularised logistic regression (Spark ML, no feature standardisation, so
 * the objective is mean log-loss + regParam/2 ‖w‖²), evaluated on a held-out share chosen by {@link HeldOutSplit}.
 */
public final class ClassifierTraining {
    private ClassifierTraining() {}

    /**
     * @param heldOut  share of documents kept out of training and evaluated on
     * @param regParam L2 penalty λ on the weights (not on the intercept)
     */
    public record Options(List<String> positive, List<String> negative, String textColumn, int numFeatures,
                          double heldOut, long seed, double regParam, int maxIter) {}

    /** The trained model and what was measured on the held-out documents (and the counts behind it). */
    public record Result(ClassifierModel model, Map<String, Object> metrics) {}

    private static final double[] QUANTILES = {0.1, 0.25, 0.5, 0.75, 0.9};

    public static Result train(JavaSparkContext sc, Options o, Consumer<String> log) throws IOException {
        HashedNgrams features = new HashedNgrams(o.numFeatures());
        double fraction = o.heldOut();
        long seed = o.seed();
        JavaRDD<Row> positive = labelled(sc, o.positive(), o.textColumn(), 1.0, features, seed, fraction);
        JavaRDD<Row> negative = labelled(sc, o.negative(), o.textColumn(), 0.0, features, seed, fraction);
        SparkSession spark = SparkSession.builder().getOrCreate();
        StructType schema = new StructType(new StructField[] {
                new StructField("label", DataTypes.DoubleType, false, Metadata.empty()),
                new StructField("features", new VectorUDT(), false, Metadata.empty()),
                new StructField("held_out", DataTypes.BooleanType, false, Metadata.empty())});
        Dataset<Row> all = spark.createDataFrame(positive.union(negative), schema).persist(StorageLevel.MEMORY_AND_DISK());
        try {
            Map<String, Object> metrics = new LinkedHashMap<>();
            Map<Boolean, Long>[] counts = countByClass(all);
            long pos = counts[1].values().stream().mapToLong(Long::longValue).sum();
            long neg = counts[0].values().stream().mapToLong(Long::longValue).sum();
            if (pos == 0) throw new IOException("--positive " + String.join(" ", o.positive()) + " holds no document (after cleanup)");
            if (neg == 0) throw new IOException("--negative " + String.join(" ", o.negative()) + " holds no document (after cleanup)");
            long posHeld = counts[1].getOrDefault(true, 0L), negHeld = counts[0].getOrDefault(true, 0L);
            if (posHeld == 0 || negHeld == 0 || posHeld == pos || negHeld == neg) {
                throw new IOException(String.format("the held-out split (--held-out %s) leaves %d of %d positive and %d of"
                        + " %d negative documents for evaluation; each class needs documents on both sides: give more"
                        + " documents or another --held-out", fraction, posHeld, pos, negHeld, neg));
            }
            metrics.put("positive_documents", pos);
            metrics.put("negative_documents", neg);
            metrics.put("train_documents", pos + neg - posHeld - negHeld);
            metrics.put("held_out_documents", posHeld + negHeld);
            log.accept(String.format("%,d positive and %,d negative documents; %,d held out", pos, neg, posHeld + negHeld));

            LogisticRegressionModel lr = new LogisticRegression().setRegParam(o.regParam()).setElasticNetParam(0)
                    .setStandardization(false).setMaxIter(o.maxIter()).setTol(1e-9)
                    .fit(all.filter(col("held_out").equalTo(lit(false))));
            metrics.put("iterations", lr.summary().totalIterations());
            Dataset<Row> scored = lr.transform(all.filter(col("held_out")))
                    .withColumn("score", org.apache.spark.ml.functions.vector_to_array(col("probability"),
                            "float64").getItem(1))
                    .persist(StorageLevel.MEMORY_AND_DISK());
            try {
                double auc = new BinaryClassificationEvaluator().setMetricName("areaUnderROC")
                        .setRawPredictionCol("score").evaluate(scored);
                long correct = scored.filter(col("prediction").equalTo(col("label"))).count();
                metrics.put("auc", auc);
                metrics.put("accuracy", (double) correct / (posHeld + negHeld));
                metrics.put("positive_score_quantiles", quantiles(scored, 1.0));
                metrics.put("negative_score_quantiles", quantiles(scored, 0.0));
            } finally {
                scored.unpersist();
            }
            double[] w = lr.coefficients().toArray();
            return new Result(new ClassifierModel(o.numFeatures(), lr.intercept(), w), metrics);
        } finally {
            all.unpersist();
        }
    }

    private static JavaRDD<Row> labelled(JavaSparkContext sc, List<String> inputs, String textColumn, double label,
                                         HashedNgrams features, long seed, double fraction) throws IOException {
        return DocumentTexts.read(sc, inputs, textColumn).map(text -> RowFactory.create(label, features.vector(text),
                HeldOutSplit.isHeldOut(text, seed, fraction)));
    }

    /** [negative, positive] → (held out? → documents). */
    @SuppressWarnings("unchecked")
    private static Map<Boolean, Long>[] countByClass(Dataset<Row> all) {
        Map<Boolean, Long>[] counts = new Map[] {new LinkedHashMap<>(), new LinkedHashMap<>()};
        for (Row r : all.groupBy("label", "held_out").count().collectAsList()) {
            counts[(int) r.getDouble(0)].put(r.getBoolean(1), r.getLong(2));
        }
        return counts;
    }

    /** The held-out scores' quantiles in one class: {"p10": ..., "p25": ..., ...}. */
    private static Map<String, Double> quantiles(Dataset<Row> scored, double label) {
        double[] q = scored.filter(col("label").equalTo(lit(label))).stat().approxQuantile("score", QUANTILES, 0.001);
        Map<String, Double> out = new LinkedHashMap<>();
        for (int i = 0; i < q.length; i++) out.put("p" + Math.round(QUANTILES[i] * 100), q[i]);
        return out;
    }
}
