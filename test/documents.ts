import { graphql } from './gql/index.js';

export const HealthQuery = graphql(`
  query Health {
    health {
      healthy
      engine {
        name
        version
        apiVersion
      }
      engineError
      uptimeSeconds
      timestamp
    }
  }
`);
