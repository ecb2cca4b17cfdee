;;; delzero.lsp -- DELZERO：删除长度为零的线和内容为空的文字
;;; 用法：加载后输入 DELZERO，选择范围：回车处理整个图形（所有空间），或输入 S 自行选择。
;;; 删除：长度为零的直线、多段线、圆弧、样条曲线，以及只含空格的单行或多行文字。
;;; 锁定图层上的对象不处理。

(vl-load-com)

(defun delzero-blank-p (str)
  ;; STR 去掉空格、制表符和多行文字换行符 \P 后是否为空。
  (while (vl-string-search "\\P" str)
    (setq str (vl-string-subst " " "\\P" str))
  )
  (= "" (vl-string-trim " \t" str))
)

(defun delzero-locked-p (ent / layer)
  (setq layer (tblsearch "LAYER" (cdr (assoc 8 (entget ent)))))
  (= 4 (logand 4 (cdr (assoc 70 layer))))
)

(defun c:DELZERO (/ *error* doc scope ss i n ent ed etype obj zero-len blank)
  (setq doc (vla-get-ActiveDocument (vlax-get-acad-object)))
  (defun *error* (msg)
    (vla-EndUndoMark doc)
    (if (not (wcmatch (strcase msg) "*BREAK*,*CANCEL*,*EXIT*"))
      (princ (strcat "\n错误: " msg))
    )
    (princ)
  )
  (initget "All Select")
  (setq scope (getkword "\n范围 [整个图形(A)/选择对象(S)] <A>: "))
  (setq ss (if (= scope "Select")
             (ssget "_:L" '((0 . "LINE,LWPOLYLINE,POLYLINE,ARC,SPLINE,TEXT,MTEXT")))
             (ssget "_X" '((0 . "LINE,LWPOLYLINE,POLYLINE,ARC,SPLINE,TEXT,MTEXT")))
           )
  )
  (if ss
    (progn
      (vla-StartUndoMark doc)
      (setq zero-len 0
            blank    0
            n        (sslength ss)
            i        0
      )
      (while (< i n)
        (setq ent   (ssname ss i)
              ed    (entget ent)
              etype (cdr (assoc 0 ed))
              i     (1+ i)
        )
        (if (not (delzero-locked-p ent))
          (cond
            ((wcmatch etype "TEXT,MTEXT")
             (setq obj (vlax-ename->vla-object ent))
             (if (delzero-blank-p (vla-get-TextString obj))
               (progn (vla-Delete obj) (setq blank (1+ blank)))
             )
            )
            ;; 多边形网格和多面网格（POLYLINE 的 70 组码含 16 或 64）不是曲线
            ((and (= etype "POLYLINE") (/= 0 (logand 80 (cdr (assoc 70 ed))))))
            ((equal 0.0 (vlax-curve-getDistAtParam ent (vlax-curve-getEndParam ent)) 1e-9)
             (entdel ent)
             (setq zero-len (1+ zero-len))
            )
          )
        )
      )
      (vla-EndUndoMark doc)
      (princ (strcat "\n删除零长度线 " (itoa zero-len) " 条，空文字 " (itoa blank) " 个。"))
    )
    (princ "\n没有找到可处理的对象。")
  )
  (princ)
)

(princ "\nDELZERO 已加载：输入 DELZERO 清理零长度线和空文字。")
(princ)
