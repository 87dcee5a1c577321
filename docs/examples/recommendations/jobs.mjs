import { appendFileSync } from 'node:fs';

import { Job, Queueable } from 'errand';

const log = (line) => appendFileSync(process.env.PIPELINE_LOG ?? 'pipeline.log', `${line}\n`);

/** Picks what the visitor sees next: the most urgent stage. */
export const RefreshRecommendations = Job({ name: 'RefreshRecommendations', queue: 'realtime' })(
  class RefreshRecommendations extends Queueable {
    constructor(userId) {
      super();
      this.userId = userId;
    }
    async handle() {
      log(`realtime ${this.userId}`);
    }
  },
);

/** Folds a session's clicks into the visitor's profile. */
export const RecordBehaviour = Job({ name: 'RecordBehaviour', queue: 'behavioral' })(
  class RecordBehaviour extends Queueable {
    constructor(userId) {
      super();
      this.userId = userId;
    }
    async handle() {
      log(`behavioral ${this.userId}`);
    }
  },
);

/** Scores items with the model. */
export const ScoreItems = Job({ name: 'ScoreItems', queue: 'ml' })(
  class ScoreItems extends Queueable {
    constructor(userId) {
      super();
      this.userId = userId;
    }
    async handle() {
      log(`ml ${this.userId}`);
    }
  },
);

/** Writes reporting rows: whenever there is time. */
export const AggregateAnalytics = Job({ name: 'AggregateAnalytics', queue: 'analytics' })(
  class AggregateAnalytics extends Queueable {
    constructor(userId) {
      super();
      this.userId = userId;
    }
    async handle() {
      log(`analytics ${this.userId}`);
    }
  },
);
