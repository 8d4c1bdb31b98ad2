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

export const ContainerFields = graphql(`
  fragment ContainerFields on Container {
    id
    shortId
    name
    image
    state
    status
    createdAt
    startedAt
    finishedAt
    exitCode
    command
    tty
    labels {
      key
      value
    }
    ports {
      containerPort
      protocol
      hostPort
    }
  }
`);

export const CreateContainer = graphql(`
  mutation CreateContainer($input: CreateContainerInput!) {
    createContainer(input: $input) {
      ...ContainerFields
    }
  }
`);

export const ContainersQuery = graphql(`
  query Containers($filter: ContainerFilter) {
    containers(filter: $filter) {
      ...ContainerFields
    }
  }
`);

export const ContainerQuery = graphql(`
  query Container($ref: String!) {
    container(ref: $ref) {
      ...ContainerFields
    }
  }
`);

export const StartContainer = graphql(`
  mutation StartContainer($container: String!) {
    startContainer(container: $container) {
      ...ContainerFields
    }
  }
`);

export const StopContainer = graphql(`
  mutation StopContainer($container: String!, $timeoutSeconds: Int) {
    stopContainer(container: $container, timeoutSeconds: $timeoutSeconds) {
      ...ContainerFields
    }
  }
`);

export const RestartContainer = graphql(`
  mutation RestartContainer($container: String!) {
    restartContainer(container: $container) {
      ...ContainerFields
    }
  }
`);

export const RemoveContainer = graphql(`
  mutation RemoveContainer($container: String!, $force: Boolean) {
    removeContainer(container: $container, force: $force) {
      id
      name
      removed
    }
  }
`);

export const ImagesQuery = graphql(`
  query Images {
    images {
      id
      tags
      sizeBytes
      createdAt
    }
  }
`);

export const Exec = graphql(`
  mutation Exec($container: String!, $input: ExecInput!) {
    exec(container: $container, input: $input) {
      id
      containerId
      containerName
      command
      user
      exitCode
      stdout
      stderr
      output
      success
      durationMs
      timedOut
      cancelled
      truncated
      startedAt
      finishedAt
    }
  }
`);

export const ExecutionQuery = graphql(`
  query Execution($id: ID!) {
    execution(id: $id) {
      id
      command
      exitCode
      output
    }
  }
`);

export const ContainerExecutions = graphql(`
  query ContainerExecutions($ref: String!) {
    container(ref: $ref) {
      executions {
        id
        command
        exitCode
        timedOut
        cancelled
      }
    }
  }
`);

export const AddUser = graphql(`
  mutation AddUser($container: String!, $input: AddUserInput!) {
    addUser(container: $container, input: $input) {
      username
      uid
      gid
      home
      shell
      groups
    }
  }
`);

export const RemoveUser = graphql(`
  mutation RemoveUser($container: String!, $username: String!, $removeHome: Boolean) {
    removeUser(container: $container, username: $username, removeHome: $removeHome)
  }
`);

export const ContainerUsers = graphql(`
  query ContainerUsers($ref: String!) {
    container(ref: $ref) {
      users {
        username
        uid
        gid
        home
        shell
        groups
      }
    }
  }
`);

export const WriteFile = graphql(`
  mutation WriteFile($container: String!, $input: WriteFileInput!) {
    writeFile(container: $container, input: $input) {
      path
      type
      size
      mode
      uid
      gid
    }
  }
`);

export const ReadFile = graphql(`
  query ReadFile($ref: String!, $path: String!, $encoding: FileEncoding) {
    container(ref: $ref) {
      file(path: $path) {
        path
        type
        size
        mode
        modeOctal
        uid
        gid
        modifiedAt
        isText
        content(encoding: $encoding)
      }
    }
  }
`);

export const FileMeta = graphql(`
  query FileMeta($ref: String!, $path: String!) {
    container(ref: $ref) {
      file(path: $path) {
        path
        type
        size
        isText
      }
    }
  }
`);

export const ListDirectory = graphql(`
  query ListDirectory($ref: String!, $path: String!, $limit: Int) {
    container(ref: $ref) {
      directory(path: $path, limit: $limit) {
        path
        totalEntries
        truncated
        entries {
          name
          path
          type
          size
          mode
          modeOctal
          uid
          gid
          modifiedAt
          linkTarget
        }
      }
    }
  }
`);

export const DeleteFile = graphql(`
  mutation DeleteFile($container: String!, $path: String!, $recursive: Boolean) {
    deleteFile(container: $container, path: $path, recursive: $recursive)
  }
`);

export const ContainerLogs = graphql(`
  query ContainerLogs($ref: String!, $tail: Int, $since: DateTime, $until: DateTime, $timestamps: Boolean) {
    container(ref: $ref) {
      logs(tail: $tail, since: $since, until: $until, timestamps: $timestamps) {
        cursor
        timestamp
        stream
        message
      }
    }
  }
`);

/** Every event of containerLogs, for the live and resume tests. */
export const ContainerLogsLive = graphql(`
  subscription ContainerLogsLive($container: String!, $tail: Int, $after: String, $filter: String, $stderr: Boolean) {
    containerLogs(container: $container, tail: $tail, after: $after, filter: $filter, stderr: $stderr) {
      __typename
      ... on LogLine {
        cursor
        timestamp
        stream
        message
        truncated
      }
      ... on StreamGap {
        missed
        resumeCursor
      }
      ... on LogEnd {
        reason
        exitCode
        message
      }
    }
  }
`);

/** The kinds of event an exec stream sends, for tests about how streams end. */
export const ExecStreamKinds = graphql(`
  subscription ExecStreamKinds($container: String!, $command: String!) {
    execStream(container: $container, command: $command) {
      __typename
    }
  }
`);

export const OpenTerminalId = graphql(`
  mutation OpenTerminalId($container: String!, $args: [String!]) {
    openTerminal(container: $container, args: $args) {
      id
    }
  }
`);

/** The kinds of event a terminal's watchers get, for tests about how streams end. */
export const TerminalWatchKinds = graphql(`
  subscription TerminalWatchKinds($id: ID!) {
    terminal(id: $id) {
      __typename
    }
  }
`);

export const TerminalInput = graphql(`
  mutation TerminalInput($id: ID!, $data: String!) {
    terminalInput(id: $id, data: $data)
  }
`);

export const CloseTerminal = graphql(`
  mutation CloseTerminal($id: ID!) {
    closeTerminal(id: $id) {
      running
      exitCode
    }
  }
`);


/** How many live streams of each kind are open: upstreams to the engine, and their subscribers. */
export const ServerStatsQuery = graphql(`
  query ServerStats {
    serverStats {
      streams {
        kind
        upstreams
        subscribers
      }
    }
  }
`);

export const CreateLab = graphql(`
  mutation CreateLab($input: CreateLabInput!) {
    createLab(input: $input) {
      lab {
        name
        state
        expiresAt
      }
      credentials {
        student
        password
        token
        tokenId
      }
    }
  }
`);

export const RemoveLab = graphql(`
  mutation RemoveLab($lab: String!) {
    removeLab(lab: $lab) {
      name
    }
  }
`);
