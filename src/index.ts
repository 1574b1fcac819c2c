/**
 * fapi-policy library API: load profiles, compile them, evaluate facts, derive metadata.
 * The CLI, the decision service and the reference AS all use exactly this surface.
 */
export { loadProfiles, findProfileFiles, readDocuments, BUNDLED_PROFILES_DIR, type LoadOptions } from './profile/files.js';
export { buildProfileSet, ProfileSet, type BuildOptions, type DocumentInput, type ShippedProfile, type WaiverRecord } from './profile/load.js';
export { ProfileLoadError, formatDiagnostic, type Diagnostic } from './profile/diagnostics.js';
export { runTests, mergePatch, type TestReport, type TestVector, type VectorResult, type CoverageGap, type RuleCoverage, type VectorRef } from './profile/vectors.js';
export { buildMatrix, type Matrix, type MatrixRow, type MatrixRule, type MatrixWaiver } from './profile/matrix.js';
export { unobservableClauses, type UnobservableClause } from './profile/unobservable.js';
export { diffProfiles, type ProfileDiff, type SettingChange, type RuleChange } from './profile/diff.js';
export { SETTING_KINDS, type RefineKind } from './profile/schema.js';
export { CompiledProfile, type ResolvedProfile, type RuleSummary } from './engine/compiled-profile.js';
export { checkFacts, FACTS_SCHEMAS } from './engine/facts.js';
export type { MetadataEndpoints } from './engine/metadata.js';
export type { EvaluateOptions } from './engine/evaluate.js';
export type { RuleSpec } from './engine/rule.js';
export {
  OAUTH_ERRORS, OAUTH_ERROR_CODES, STAGE_ERRORS, isOAuthError, oauthStatus, oauthErrorResponse,
  type OAuthError, type OAuthErrorResponse, type ServerRole,
} from './engine/oauth-errors.js';
export {
  STAGES, isStage,
  type Stage, type Facts, type Settings, type Decision, type Violation, type ProfileRef, type RuleTrace, type Severity, type Waiver,
} from './engine/types.js';
