import { CONSOLE_SOURCE } from './console-source.js';
import { FIELDS_SOURCE } from './fields-source.js';
import { INTRINSICS_SOURCE } from './intrinsics-source.js';
import { OUTCOME_SOURCE } from './outcome-source.js';
import { PROFILES_SOURCE } from './profiles-source.js';
import { RADIUS_ATTRIBUTES_SOURCE } from './radius-attributes-source.js';
import { RUNNER_SOURCE } from './runner-source.js';
import { USER_ATTR_SOURCE } from './user-attr-source.js';
import { USER_OBJECT_SOURCE } from './user-object-source.js';
import { VALUES_SOURCE } from './values-source.js';

/**
 * The code evaluated in each fresh context before the admin's script is even created. Its
 * completion value is `init(configJson)`, which installs the script's globals and returns the
 * functions the child drives (see runner-source.ts). The fragments share one strict closure; the
 * intrinsics come first so they are captured before anything else runs.
 */
export const PRELUDE_SOURCE =
  '(function () {\n"use strict";\n' +
  INTRINSICS_SOURCE +
  VALUES_SOURCE +
  FIELDS_SOURCE +
  PROFILES_SOURCE +
  RADIUS_ATTRIBUTES_SOURCE +
  USER_ATTR_SOURCE +
  USER_OBJECT_SOURCE +
  CONSOLE_SOURCE +
  OUTCOME_SOURCE +
  RUNNER_SOURCE +
  '\nreturn init;\n})()';
