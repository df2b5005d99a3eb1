package io.queuepilot.worker.process;

import java.nio.file.Path;

/** A downloaded document: the local file, its size and the mime type and name from the job payload. */
public record DocumentInput(Path file, long size, String mimeType, String filename) {}
