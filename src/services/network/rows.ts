/** The standard attributes every Neutron resource row has, both ways. */
interface StandardRow {
  id: string;
  project_id: string;
  name: string;
  description: string;
  created_at: string;
  updated_at: string;
  revision_number: number;
}

export interface StandardAttributes {
  id: string;
  projectId: string;
  name: string;
  description: string;
  createdAt: string;
  updatedAt: string;
  revisionNumber: number;
}

export function standardFromRow(r: StandardRow, tags: Map<string, string[]>): StandardAttributes & { tags: string[] } {
  return {
    id: r.id,
    projectId: r.project_id,
    name: r.name,
    description: r.description,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    revisionNumber: r.revision_number,
    tags: (tags.get(r.id) ?? []).sort(),
  };
}

export function standardToRow(x: StandardAttributes): StandardRow {
  return {
    id: x.id,
    project_id: x.projectId,
    name: x.name,
    description: x.description,
    created_at: x.createdAt,
    updated_at: x.updatedAt,
    revision_number: x.revisionNumber,
  };
}
