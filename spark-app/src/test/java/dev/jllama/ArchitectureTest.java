package dev.jllama;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/** Layering the code relies on: the communicator and the model run without Spark. */
@AnalyzeClasses(packages = {"dev.jllama.collective", "dev.jllama.model"}, importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {

    /** The collective is the communicator of the XGBoost4J split; the Spark glue that calls it lives elsewhere. */
    @ArchTest
    static final ArchRule collectiveKnowsOnlyFloatsBytesAndSockets = noClasses()
            .that().resideInAPackage("dev.jllama.collective..")
            .should().dependOnClassesThat().resideInAnyPackage("org.apache.spark..", "org.apache.hadoop..", "scala..");

    /** The model trains in a plain JVM (and on TornadoVM) as well as inside Spark tasks. */
    @ArchTest
    static final ArchRule modelKnowsNoSpark = noClasses()
            .that().resideInAPackage("dev.jllama.model..")
            .should().dependOnClassesThat().resideInAPackage("org.apache.spark..");
}
