/** The file source: Kubernetes YAML manifests on disk. */
export { loadManifests, manifestFiles, isManifestFileName, ManifestPathError, type FieldLocator, type LoadResult } from './load.js';
export { parseManifestText, TLS_SECRET_TYPE, type ParsedManifest } from './parse.js';
export { watchManifests, type ManifestWatch, type WatchOptions } from './watch.js';
