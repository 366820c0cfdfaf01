export { ManifestSources, type ManifestSourcesOptions } from './manifest-sources.js';
export { DirectorySource, DEFAULT_WATCH_TIMING, type DirectorySourceOptions, type WatchTiming } from './directory-source.js';
export { DirectorySync, type BatchResult, type SourceFileStatus, type SourceStatus } from './directory-sync.js';
export { MAX_MANIFEST_FILE_BYTES, isIgnoredName, isManifestPath, listManifestFiles } from './manifest-files.js';
export { parseManifestText, readManifestFile, type FileReading, type SourceFileError } from './read-manifest-file.js';
