package dev.jllama.data.prepare;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.analysis.UnresolvedAttribute;
import org.apache.spark.sql.catalyst.expressions.And;
import org.apache.spark.sql.catalyst.expressions.BinaryComparison;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.Literal;
import org.apache.spark.sql.catalyst.parser.CatalystSqlParser$;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructType;
import scala.jdk.javaapi.CollectionConverters;

/**
 * What a document must satisfy to be kept, as a list of top-level AND-clauses over the annotation columns: the
 * two filters prepare always had ({@code chars >= min chars}, {@code symbol_ratio <= max symbol ratio}), each
 * top-level AND-clause of {@code --where}, and {@code quality_score >= X} for {@code --min-quality}. Each clause is
 * counted on its own (documents failing it), and comparisons of a column with a constant are the thresholds drawn
 * on the histograms. A clause that evaluates to NULL fails, as in SQL's WHERE.
 */
final class FilterExpression {

    /** One clause: its Spark SQL text and the option it came from. */
    record Clause(String sql, String option) {}

    private final List<Clause> clauses;
    private final Map<String, TreeSet<Double>> thresholds = new LinkedHashMap<>();

    private FilterExpression(List<Clause> clauses) {
        this.clauses = List.copyOf(clauses);
    }

    /** The clauses of the given options; a syntax error in {@code where} is a one-line IllegalArgumentException. */
    static FilterExpression of(QualityFilter quality, String where, double minQuality) {
        List<Clause> clauses = new ArrayList<>();
        clauses.add(new Clause("chars >= " + quality.minChars(), "--min-chars"));
        clauses.add(new Clause("symbol_ratio <= " + quality.maxSymbolRatio(), "--max-symbol-ratio"));
        if (where != null) {
            for (String c : conjuncts(where, parse(where, "--where"), where.strip())) {
                clauses.add(new Clause(c, "--where"));
            }
        }
        if (!Double.isNaN(minQuality)) clauses.add(new Clause("quality_score >= " + minQuality, "--min-quality"));
        FilterExpression f = new FilterExpression(clauses);
        for (Clause c : clauses) f.collectThresholds(parse(c.sql(), c.option()));
        return f;
    }

    List<Clause> clauses() {
        return clauses;
    }

    /** Per column, the constants the clauses compare it with. */
    Map<String, TreeSet<Double>> thresholds() {
        return thresholds;
    }

    /**
     * Checks every clause against the annotation table's schema before any work: each must name known columns and
     * be boolean. Throws an IllegalArgumentException with one line naming the option and the clause.
     */
    void check(SparkSession spark, StructType schema) {
        var empty = spark.createDataFrame(List.<Row>of(), schema);
        for (Clause c : clauses) {
            StructType result;
            try {
                result = empty.select(functions.expr(c.sql())).schema();
            } catch (Exception e) { // AnalysisException (checked in Scala's eyes only) and ParseException
                throw new IllegalArgumentException(c.option() + " '" + c.sql() + "': " + firstLine(e.getMessage()), e);
            }
            var type = result.fields()[0].dataType();
            if (!type.equals(DataTypes.BooleanType)) {
                throw new IllegalArgumentException(c.option() + " '" + c.sql() + "' is not a boolean expression (it is "
                        + type.simpleString() + ")");
            }
        }
    }

    /** Clause {@code i} as a column that is false where the clause is false or NULL. */
    Column column(int i) {
        return functions.coalesce(functions.expr(clauses.get(i).sql()), functions.lit(false));
    }

    private static Expression parse(String sql, String option) {
        try {
            return CatalystSqlParser$.MODULE$.parseExpression(sql);
        } catch (Exception e) { // ParseException, an AnalysisException: checked in Java's eyes, not declared by Scala
            throw new IllegalArgumentException(option + " '" + sql + "': " + firstLine(e.getMessage()), e);
        }
    }

    /**
     * The top-level AND-clauses of {@code e} (written {@code text}), each as the user wrote it: the operands of the
     * AND nodes, where operands whose text overlaps merge into one clause (the parser turns a BETWEEN into an AND
     * of two comparisons over the same text), and the text between consecutive clauses must be the keyword AND
     * (parentheses aside). Where the parser kept no positions, the expression stays one clause.
     */
    private static List<String> conjuncts(String where, Expression e, String text) {
        List<Expression> operands = new ArrayList<>();
        flatten(e, operands);
        List<int[]> ranges = new ArrayList<>();
        for (Expression o : operands) {
            int[] r = range(where, o);
            if (r == null) return List.of(text);
            ranges.add(r);
        }
        ranges.sort(java.util.Comparator.comparingInt(r -> r[0]));
        List<int[]> merged = new ArrayList<>();
        for (int[] r : ranges) {
            int[] last = merged.isEmpty() ? null : merged.getLast();
            if (last != null && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
            else merged.add(r.clone());
        }
        // The clauses are the text between the AND keywords that separate consecutive operands (an operand's
        // position may leave out its first operand and its parentheses, so the keyword, not the operand, decides).
        java.util.regex.Pattern and = java.util.regex.Pattern.compile("(?i)\\bAND\\b");
        List<String> out = new ArrayList<>();
        int from = 0;
        for (int i = 1; i < merged.size(); i++) {
            var m = and.matcher(where).region(merged.get(i - 1)[1] + 1, merged.get(i)[0]);
            if (!m.find()) return List.of(text);
            out.add(where.substring(from, m.start()).strip());
            from = m.end();
        }
        out.add(where.substring(from).strip());
        for (String clause : out) if (!parses(clause)) return List.of(text);
        return out;
    }

    private static boolean parses(String sql) {
        try {
            CatalystSqlParser$.MODULE$.parseExpression(sql);
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    private static void flatten(Expression e, List<Expression> out) {
        if (e instanceof And and) {
            flatten(and.left(), out);
            flatten(and.right(), out);
        } else {
            out.add(e);
        }
    }

    /** Where the parser found {@code e} in {@code where} (first and last character), or null. */
    private static int[] range(String where, Expression e) {
        var origin = e.origin();
        if (origin.startIndex().isEmpty() || origin.stopIndex().isEmpty()) return null;
        int start = (Integer) origin.startIndex().get();
        int stop = (Integer) origin.stopIndex().get();
        return start >= 0 && start <= stop && stop < where.length() ? new int[] {start, stop} : null;
    }

    private void collectThresholds(Expression e) {
        if (e instanceof BinaryComparison cmp) {
            Expression l = cmp.left();
            Expression r = cmp.right();
            if (l instanceof UnresolvedAttribute a && r instanceof Literal v) threshold(a, v);
            else if (r instanceof UnresolvedAttribute a && l instanceof Literal v) threshold(a, v);
        } else if (e instanceof org.apache.spark.sql.catalyst.analysis.UnresolvedFunction f
                && CollectionConverters.asJava(f.nameParts()).getLast().equalsIgnoreCase("between")) {
            List<Expression> args = CollectionConverters.asJava(f.arguments());
            if (args.getFirst() instanceof UnresolvedAttribute a) {
                for (Expression bound : args.subList(1, args.size())) if (bound instanceof Literal v) threshold(a, v);
            }
        }
        for (Expression child : CollectionConverters.asJava(e.children())) collectThresholds(child);
    }

    private void threshold(UnresolvedAttribute column, Literal value) {
        if (value.value() == null || !(value.dataType() instanceof NumericType)) return;
        thresholds.computeIfAbsent(column.name(), k -> new TreeSet<>()).add(Double.parseDouble(value.value().toString()));
    }

    private static String firstLine(String message) {
        if (message == null) return "invalid expression";
        return message.lines().map(String::strip).filter(l -> !l.isEmpty()).findFirst().orElse("invalid expression");
    }
}
