package dev.jllama.data.prepare;

import java.io.Serializable;

/**
 * A document as read, before cleanup.
 *
 * @param source   the source it counts for in the per-source accounting (the input's name, or the value of the
 *                 source column or field)
 * @param location where it came from: the page URL for WET records, otherwise the file
 * @param text     the raw text
 */
record Document(String source, String location, String text) implements Serializable {}
