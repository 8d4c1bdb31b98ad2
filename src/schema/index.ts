import { builder } from './builder.js';
import './scalars.js';
import './container.js';
import './execution.js';
import './user.js';
import './file.js';
import './log.js';
import './system.js';

export const schema = builder.toSchema({ sortSchema: true });
