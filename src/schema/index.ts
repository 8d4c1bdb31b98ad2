import { withActionRecords } from './audit.js';
import { builder } from './builder.js';
import './scalars.js';
import './container.js';
import './execution.js';
import './activity.js';
import './recording.js';
import './terminal.js';
import './user.js';
import './file.js';
import './log.js';
import './event.js';
import './stats.js';
import './system.js';
import './whoami.js';
import './lab.js';

export const schema = withActionRecords(builder.toSchema({ sortSchema: true }));
