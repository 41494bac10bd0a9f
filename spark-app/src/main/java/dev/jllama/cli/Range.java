package dev.jllama.cli;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The accepted values of a numeric option, declared beside it: checked by {@link OptionRanges} before a command does
 * any work, and appended to the option's help line. An option that was not given (a null field) is not checked.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.FIELD)
public @interface Range {
    double min() default Double.NEGATIVE_INFINITY;

    double max() default Double.POSITIVE_INFINITY;

    /** True when {@link #min()} itself is not accepted (e.g. a learning rate must exceed 0). */
    boolean minExclusive() default false;

    /** True when {@link #max()} itself is not accepted (e.g. a fraction below 1). */
    boolean maxExclusive() default false;
}
